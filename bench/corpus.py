"""Write the benchmark corpus: real text this machine has without a network, as Parquet shards.

Python source, reStructuredText and Markdown from the installed Python (standard library and site-packages) and
/usr/share/doc, in sorted path order, until the GPT-2 token target is reached.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    python bench/corpus.py --tokens 1e9 --out bench/data/corpus-1b

This machine holds about 130M tokens of such text (more as packages are installed; the first 25M make the standard
bench corpus). For a larger target, once the real documents run out, new documents are resampled from them: the real
texts are split into paragraphs at blank lines, and each new document joins (with a blank line) 2 to 5 runs of 1 to
16 consecutive paragraphs of one real document each, every run starting at a paragraph drawn uniformly from all
paragraphs. Word and n-gram statistics within a paragraph are real text's and no document is a copy of another, but
each paragraph recurs about target / 130M times, so long n-grams repeat more often than in a web corpus. The draws
come from one generator seeded by --seed: the same source files and seed give the same corpus. Resampled documents
have id `resampled-N`, source `resampled` and a `quality` score (uniform in [0, 1), from the same generator); their
token count is the sum of their paragraphs' counts plus one per join, an estimate off only where two paragraphs meet
(0.8% low, measured on one file). Only the pool of paragraphs (all the real text: about 1 GB of RSS here) and one
output file's rows are held in memory. `tokens.tsv` beside the shards lists each file's documents and tokens
(bench/bench_scale.py reads it).
"""
from __future__ import annotations

import argparse
import re
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector.tokenizer import GPT2Tokenizer

SUFFIXES = {".py", ".rst", ".md", ".txt"}
BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")


def candidate_files() -> list[Path]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path("/usr/share/doc")]
    files = []
    for root in roots:
        files += [p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file() and "__pycache__" not in p.parts]
    return sorted(set(files))


def token_target(text: str) -> int:
    """`25000000`, `25_000_000` or `1e9`."""
    return int(float(text.replace("_", "")))


class ShardWriter:
    """Writes numbered Parquet files and a line per file to tokens.tsv; prints a line per file."""

    def __init__(self, out: Path):
        self.out, self.files, self.total = out, 0, 0
        self.started = time.perf_counter()
        self.lines = ["file\tdocuments\ttokens\testimated\n"]

    def write(self, rows: list[dict], tokens: int, estimated: bool) -> None:
        name = f"bench-{self.files:03d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), self.out / name)
        self.files, self.total = self.files + 1, self.total + tokens
        self.lines.append(f"{name}\t{len(rows)}\t{tokens}\t{int(estimated)}\n")
        (self.out / "tokens.tsv").write_text("".join(self.lines))
        kind = "resampled, estimated" if estimated else "real"
        print(f"{name}: {len(rows):,} docs, {tokens:,} tokens ({kind}); total {self.total:,} "
              f"after {time.perf_counter() - self.started:.0f} s", flush=True)


class ParagraphPool:
    """Every real document's paragraphs in order, their token counts, and where each document's paragraphs end."""

    def __init__(self):
        self.paragraphs: list[str] = []
        self.doc_ends: list[int] = []

    def add(self, text: str) -> None:
        self.paragraphs += [p for p in BLANK_LINE.split(text) if p.strip()]
        self.doc_ends.append(len(self.paragraphs))

    def count_tokens(self, tok: GPT2Tokenizer) -> None:
        chunks = range(0, len(self.paragraphs), 10_000)  # in chunks: the token ids themselves are not kept
        self.tokens = np.array([len(ids) for a in chunks for ids in tok.encode_batch(self.paragraphs[a : a + 10_000])])
        # the end of the document each paragraph belongs to: a run never crosses into the next document
        self.run_end = np.repeat(self.doc_ends, np.diff([0, *self.doc_ends]))

    def document(self, rng: np.random.Generator) -> tuple[str, int]:
        """(text, estimated tokens) of one resampled document."""
        parts, tokens = [], 0
        for start in rng.integers(len(self.paragraphs), size=rng.integers(2, 6)):
            stop = min(start + rng.integers(1, 17), self.run_end[start])
            parts += self.paragraphs[start:stop]
            tokens += int(self.tokens[start:stop].sum())
        return "\n\n".join(parts), tokens + len(parts) - 1


def write_resampled(pool: ParagraphPool, writer: ShardWriter, target: int, seed: int, max_docs: int,
                    max_chars: int) -> None:
    rng = np.random.default_rng(seed)
    rows, tokens, chars, n = [], 0, 0, 0
    while writer.total + tokens < target:
        text, count = pool.document(rng)
        rows.append({"id": f"resampled-{n}", "text": text, "source": "resampled", "n_chars": len(text),
                     "quality": float(rng.random())})
        tokens, chars, n = tokens + count, chars + len(text), n + 1
        if len(rows) == max_docs or chars >= max_chars or writer.total + tokens >= target:
            writer.write(rows, tokens, estimated=True)
            rows, tokens, chars = [], 0, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=token_target, default=25_000_000, help="GPT-2 token target, e.g. 1e9")
    parser.add_argument("--out", type=Path, default=Path("bench/data/corpus"))
    parser.add_argument("--shard-docs", type=int, default=5000, help="documents per file of real text")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampled documents")
    parser.add_argument("--resampled-docs", type=int, default=50_000, help="at most this many documents per file")
    parser.add_argument("--resampled-chars", type=int, default=64_000_000, help="or this many characters per file")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tok = GPT2Tokenizer()
    writer, pool = ShardWriter(args.out), ParagraphPool()
    rows, total = [], 0
    for path in candidate_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not text.strip() or len(text) > 2_000_000:
            continue
        n = len(tok.encode(text))
        rows.append({"id": str(path), "text": text, "source": path.suffix[1:], "n_chars": len(text)})
        pool.add(text)
        total += n
        if len(rows) == args.shard_docs or total >= args.tokens:
            writer.write(rows, total - writer.total, estimated=False)
            rows = []
        if total >= args.tokens:
            break
    if rows:
        writer.write(rows, total - writer.total, estimated=False)
    if total < args.tokens:
        print(f"the real text ends at {total:,} tokens; resampling {len(pool.paragraphs):,} paragraphs "
              f"of {len(pool.doc_ends):,} documents (seed {args.seed})", flush=True)
        pool.count_tokens(tok)
        write_resampled(pool, writer, args.tokens, args.seed, args.resampled_docs, args.resampled_chars)
    resampled = " (resampled documents' counts estimated)" if total < args.tokens else ""
    print(f"{writer.total:,} GPT-2 tokens{resampled} in {writer.files} shards -> {args.out} "
          f"in {time.perf_counter() - writer.started:.0f} s")


if __name__ == "__main__":
    main()
