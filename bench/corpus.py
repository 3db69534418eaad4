"""Write the benchmark corpus: real text this machine has without a network, as Parquet shards.

Python source, reStructuredText and Markdown from the installed Python (standard library and site-packages) and
/usr/share/doc, in sorted path order, until the GPT-2 token target is reached.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
"""
from __future__ import annotations

import argparse
import sys
import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector.tokenizer import GPT2Tokenizer  # noqa: E402

SUFFIXES = {".py", ".rst", ".md", ".txt"}


def candidate_files() -> list[Path]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path("/usr/share/doc")]
    files = []
    for root in roots:
        files += [p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file() and "__pycache__" not in p.parts]
    return sorted(set(files))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=25_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/data/corpus"))
    parser.add_argument("--shard-docs", type=int, default=5000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tok = GPT2Tokenizer()
    rows, total, shard = [], 0, 0
    for path in candidate_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not text.strip() or len(text) > 2_000_000:
            continue
        n = len(tok.encode(text))
        rows.append({"id": str(path), "text": text, "source": path.suffix[1:], "n_chars": len(text)})
        total += n
        if len(rows) == args.shard_docs or total >= args.tokens:
            pq.write_table(pa.Table.from_pylist(rows), args.out / f"bench-{shard:03d}.parquet")
            rows, shard = [], shard + 1
        if total >= args.tokens:
            break
    if rows:
        pq.write_table(pa.Table.from_pylist(rows), args.out / f"bench-{shard:03d}.parquet")
    print(f"{total:,} GPT-2 tokens in {shard + (1 if rows else 0)} shards -> {args.out}")
    if total < args.tokens:
        sys.exit(f"only {total:,} tokens of text found; fewer than the {args.tokens:,} asked for")


if __name__ == "__main__":
    main()
