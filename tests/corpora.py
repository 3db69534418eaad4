"""The small seeded corpora the tests write: the shared sample rows and the corpora a page's AppTest tests and its
browser tests both use (their indexes are fixtures in conftest.py)."""
from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from inspector import open_benchmark

XSS_TEXT = (
    "Attack sampler: <script>alert('xss')</script> and <img src=x onerror=alert(1)> "
    "and [click me](javascript:alert(2)) and math $x$ and **bold** and # heading — all must show literally."
)


def write_parquet(path: Path, rows: list[dict], row_group_size: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def sample_rows(seed: int = 7, n: int = 60) -> list[dict]:
    """Documents with FineWeb-like metadata; a few planted phrases and the XSS sampler."""
    rng = random.Random(seed)
    words = "data model token corpus quality score language learning deep shard index search".split()
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))
        rows.append(
            {
                "id": f"doc-{i:03d}",
                "text": text,
                "source": rng.choice(["web", "books", "code"]),
                "quality": round(rng.random(), 3),
                "url": f"https://example.org/{i}",
            }
        )
    rows[3]["text"] = "The zebra-crossing phrase appears once in this corpus: purple elephant umbrella."
    rows[10]["text"] = XSS_TEXT
    rows[20]["text"] = "Unicode: naïve café — 東京 and emoji 🎉 then natural language after them."
    rows[25]["text"] = ""
    return rows


# -- the pages' corpora ---------------------------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script> and <b>bold</b> and [a link](javascript:alert(2)) must show as text."
WORDS = ["river", "stone", "cloud", "paper", "window", "garden", "lamp", "music", "silver", "table", "orange"]


def annotation_corpus(folder: Path) -> Path:
    """40 seeded documents with a `quality` score and a `source`; doc 7 is markup."""
    rng = random.Random(5)
    rows = [{"id": f"a-{i:02d}", "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 40))),
             "source": rng.choice(["web", "books"]), "quality": round(rng.random(), 3)} for i in range(40)]
    rows[7]["text"] = HOSTILE
    write_parquet(folder / "corpus" / "part-0.parquet", rows)
    return folder / "corpus"

#: a benchmark item that is markup: it must show as text everywhere (planted in the corpus, so it is dirty)
HOSTILE_ITEM = ("<script>alert(1)</script> The hostile question asks whether the seventeen orange lanterns "
                "floating above the quiet harbour were counted twice by the night watchman <b>bold</b>.")
CONTAM_WORDS = "river stone cloud paper window garden lamp music silver table orange bridge quiet morning".split()


def humaneval_item(k: int = 0) -> str:
    return next(r for r in open_benchmark("humaneval").records() if r.index == k).text


def contam_corpus(folder: Path) -> Path:
    """Seeded filler documents; doc 5 holds HumanEval/0 in context, doc 9 the hostile item."""
    rng = random.Random(11)
    rows = [{"id": f"c-{i:02d}", "text": " ".join(rng.choice(CONTAM_WORDS) for _ in range(rng.randint(20, 80)))}
            for i in range(30)]
    rows[5]["text"] = "A forum post with a solution:\n\n" + humaneval_item(0) + "\n\nThanks, that passes."
    rows[9]["text"] = "Seen on a quiz site: " + HOSTILE_ITEM + " End of the quiz."
    write_parquet(folder / "corpus" / "part-0.parquet", rows)
    return folder / "corpus"

POEM = "Roses are red,\nviolets are blue,\nsuffix arrays count\nevery n-gram for you."
#: a passage copied across the poem's line breaks: it occurs only with them
PASSAGE = "violets are blue,\nsuffix arrays count\nevery"
#: after ' and' comes a token of two backslashes: Markdown would show one
ESCAPES = "Escapes and \\\\server and &amp; too."

PHRASE = '"kernel module"'
SEARCH_FILLER = "lorem ipsum dolor sit amet, line {}\n"


def long_text() -> str:
    """About 262,000 characters; the kernel module phrase three times, all past character 189,000 (the second
    window), and the two words apart once before them."""
    parts = [SEARCH_FILLER.format(i) for i in range(5_500)]  # ~189,000 characters
    parts.append("a kernel without any module nearby\n")
    for i in range(3):
        parts += [SEARCH_FILLER.format(i) for i in range(300)] + ["load the kernel module now\n"]
    parts += [SEARCH_FILLER.format(i) for i in range(1_500)]
    return "".join(parts)


def search_rows() -> list[dict]:
    rows = [
        {"id": "phrase", "text": "Loading a kernel module at boot time.", "source": "linux-doc", "quality": 0.9},
        {"id": "apart", "text": "The kernel is small; a module is only a part.", "source": "web", "quality": 0.3},
        {"id": "long", "text": long_text(), "source": "linux-doc", "quality": 0.7},
    ]
    rows += [{"id": f"note-{i}", "text": f"kernel notes number {i}", "source": ["web", "books"][i % 2],
              "quality": round(i / 30, 3)} for i in range(24)]
    return [row | {"year": 2000 + n} for n, row in enumerate(rows)]

def phrase_starts(text: str) -> list[int]:
    starts, at = [], text.find("kernel module")
    while at >= 0:
        starts.append(at)
        at = text.find("kernel module", at + 1)
    return starts

#: a document that fits one window, its only "needle" far past the first screen
MIDDLE = "".join(SEARCH_FILLER.format(i) for i in range(600)) + "the needle is here\n" + SEARCH_FILLER.format("last")
