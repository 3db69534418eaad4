"""What the app's Contamination page needs beyond the contamination API: uploaded benchmark files made safe to open,
a benchmark's layout for the field pickers, and a report's dict form (`ContaminationReport.as_dict()` or a kept
report's JSON — the page renders both through one path) turned into tables and safe HTML.

Benchmark and corpus text is untrusted: it becomes HTML only through `highlight_html` (escape, then mark).
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import InvalidQuery

from .benchmarks import BenchmarkError, open_benchmark
from .contamination import BULLETIN
from .highlight import highlight_html

#: what the page's uploader takes (`.jsonl.gz` and `.json.gz` end in `gz`)
UPLOAD_TYPES = ("jsonl", "json", "gz", "parquet", "csv", "tsv")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_upload_name(name: str) -> str:
    """An uploaded file's name as written to the temporary folder: its last path component only, letters, digits,
    '.', '_' and '-' (others become '_'), no leading dot, at most 100 characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    safe = _NAME_CHARS.sub("_", base).lstrip(".")[-100:].lstrip(".")
    return safe or "benchmark"


def check_upload(name: str, size: int, max_bytes: int) -> str:
    """The safe name of an upload whose type and size are acceptable; BenchmarkError (naming the file) otherwise."""
    safe = safe_upload_name(name)
    if not safe.lower().endswith(tuple(f".{t}" for t in UPLOAD_TYPES)):
        raise BenchmarkError(f"{name}: not a benchmark file type; upload one of {', '.join(UPLOAD_TYPES)}")
    if size > max_bytes:
        raise BenchmarkError(f"{name}: {size / 2**20:,.1f} MB; the limit is {max_bytes / 2**20:,.0f} MB")
    if size == 0:
        raise BenchmarkError(f"{name}: the file is empty")
    return safe


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`… when taken (two benchmarks with one name cannot be told apart in a report)."""
    out, k = name, 2
    while out in taken:
        out, k = f"{name}-{k}", k + 1
    taken.add(out)
    return out


@dataclass(frozen=True)
class BenchmarkLayout:
    """What the field pickers offer for one benchmark file."""

    name: str
    format: str
    #: the first record's field paths (nested ones dotted)
    available_fields: tuple[str, ...]
    #: the preset picked from the field names, or None when none matches
    preset: str | None
    preset_fields: tuple[str, ...]


def benchmark_layout(spec: str) -> BenchmarkLayout:
    """The layout of a benchmark (`name=path`, or `humaneval`); BenchmarkError when it cannot be read at all."""
    try:
        bench = open_benchmark(spec)
    except BenchmarkError as exc:
        if not exc.available_fields:
            raise
        name = spec.split("=", 1)[0] if "=" in spec else Path(spec).stem
        return BenchmarkLayout(name, "no preset fits", exc.available_fields, None, ())  # the fields to choose from
    return BenchmarkLayout(bench.name, bench.format, bench.available_fields, bench.preset, bench.fields)


def hide_folder(message: str, folder: str | Path, shown: str = "") -> str:
    """A message with a temporary folder's path taken out (the file name alone says which file)."""
    folder = str(folder).rstrip("/\\")
    return message.replace(folder + "/", shown).replace(folder + "\\", shown).replace(folder, shown or "upload")


# -- a report's dict form --------------------------------------------------------------------------------------------


def item_key(item: dict) -> str:
    """`benchmark:index`, as the decontamination list and the URL name an item."""
    return f"{item['benchmark']}:{item['index']}"


def parse_item_key(value: str) -> tuple[str, int]:
    name, sep, number = value.rpartition(":")
    if not sep or not name or not re.fullmatch(r"[0-9]{1,12}", number):
        raise InvalidQuery(f"item must be BENCHMARK:NUMBER, such as humaneval:0, not {value[:60]!r}")
    return name, int(number)


def report_name(path: str | Path) -> str:
    return Path(path).name


def kept_report_path(index, name: str, names: Sequence[str]) -> Path:
    """The kept report called `name` (a file name from `kept_reports`, never a path): InvalidQuery otherwise."""
    if name not in names:
        shown = name if len(name) <= 80 else name[:80] + "…"
        raise InvalidQuery(f"no kept report named {shown!r} beside this index: open one from the list")
    return Path(index.path) / BULLETIN / name


def bulletin_signature(index) -> tuple:
    """The kept reports' names, sizes and times: changes whenever one is added, replaced or removed."""
    folder = Path(index.path) / BULLETIN
    try:
        return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob("*.json")))
    except OSError:
        return ()


def summary_rows(report: dict) -> list[dict]:
    rows = []
    for b in report["benchmarks"]:
        items = b["items"]
        rows.append({
            "benchmark": b["name"],
            "preset": b.get("preset"),
            "fields": ", ".join(b.get("fields") or ()),
            "items": items,
            "dirty": b["dirty"],
            "partial": b["partial"],
            "clean": b["clean"],
            "dirty %": 100 * b["dirty"] / items if items else 0.0,
            "any n-gram hit": b["any_hit"],
            "mean overlap": b["mean_overlap"],
            "mean coverage": b["mean_coverage"],
            "empty": b["empty"],
            "skipped": b["skipped"],
            "file": Path(b.get("file") or "").name,
        })
    return rows


def histogram_rows(report: dict) -> list[dict]:
    """Long form (coverage bin, benchmark, items): one bar per benchmark and decile."""
    rows = []
    for b in report["benchmarks"]:
        for i, count in enumerate(b["coverage_histogram"]):
            rows.append({"coverage": f"{10 * i}–{10 * (i + 1)}%", "benchmark": b["name"], "items": count})
    return rows


def decontamination_rows(report: dict) -> list[dict]:
    """The decontamination list: every corpus document holding a match with a dirty or partial item."""
    return [{"doc": d["doc"], "id": d["id"], "file": d["file"], "row": d["row"], "items": " ".join(d["items"]),
             "tokens_matched": d["tokens_matched"]} for d in report["documents"]]


def sorted_items(items: Sequence[dict], verdict: str, order: str) -> list[dict]:
    """The items with `verdict` ("all" for every one), by coverage (`order` "desc" or "asc") or in file order."""
    chosen = [i for i in items if verdict == "all" or i["verdict"] == verdict]
    if order == "file":
        return chosen
    key = (lambda i: -1.0 if i["coverage"] is None else i["coverage"])
    return sorted(chosen, key=key, reverse=order == "desc")


# -- safe HTML -------------------------------------------------------------------------------------------------------


def _clip(spans, lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo) - lo, min(b, hi) - lo) for a, b in spans if b > lo and a < hi]


def item_html(text: str, spans: Sequence[Sequence[int]], longest: Sequence[int] | None = None,
              limit: int = 100_000) -> str:
    """The first `limit` characters of an item's text, escaped, its matched spans in <mark> and its longest match
    wrapped in <span class="longest">: built from `highlight_html` pieces only, so no item text is ever markup."""
    shown = text[:limit]
    spans = [(int(a), int(b)) for a, b in spans]
    a, b = (int(longest[0]), int(longest[1])) if longest else (0, 0)
    b = min(b, len(shown))
    if b <= a:
        body = highlight_html(shown, _clip(spans, 0, len(shown)))
    else:
        body = (highlight_html(shown[:a], _clip(spans, 0, a))
                + f'<span class="longest">{highlight_html(shown[a:b], _clip(spans, a, b))}</span>'
                + highlight_html(shown[b:], _clip(spans, b, len(shown))))
    more = f"\n… ({len(text) - len(shown):,} more characters)" if len(text) > len(shown) else ""
    return body + html.escape(more)


def snippet_html(snippet: dict, limit: int = 2000) -> str:
    """A keyword-in-context snippet escaped, the match in <mark> (a long match shown in part)."""
    match = snippet["match"]
    if len(match) > limit:
        match = f"{match[: limit // 2]} … {match[-limit // 2 :]}"
    return (f"…{html.escape(snippet['left'])}<mark>{html.escape(match)}</mark>{html.escape(snippet['right'])}…")
