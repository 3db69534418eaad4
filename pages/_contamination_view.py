"""What the app's Contamination page needs beyond the contamination API: uploaded benchmark files made safe to open,
a benchmark's layout for the field pickers, and a report (`ContaminationReport`, fresh or read back from its kept
JSON: the page renders both through one path) turned into tables and safe HTML.

Benchmark and corpus text is untrusted: it becomes HTML only through `highlight_html` (escape, then mark).
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspector import (
    BenchmarkError,
    BenchmarkSummary,
    ContaminationParams,
    ContaminationReport,
    InvalidQuery,
    ItemResult,
    Snippet,
    highlight_html,
    open_benchmark,
)
from inspector.contamination import BULLETIN
from inspector.highlight import merge_ranges

#: what the page's uploader takes (`.jsonl.gz` and `.json.gz` end in `gz`)
UPLOAD_TYPES = ("jsonl", "json", "gz", "parquet", "csv", "tsv")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def uploaded_name(name: str) -> str:
    """An uploaded file as messages and reports name it: the name the user gave it (its last path component, at
    most 100 characters), never the temporary file it is saved to."""
    return re.split(r"[/\\]", name or "")[-1][-100:] or "benchmark"


def safe_upload_name(name: str) -> str:
    """An uploaded file's name as written to the temporary folder: its last path component only, letters, digits,
    '.', '_' and '-' (others become '_'), no leading dot, at most 100 characters."""
    safe = _NAME_CHARS.sub("_", uploaded_name(name)).lstrip(".")[-100:].lstrip(".")
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


def benchmark_layout(spec: str, shown_as: str | None = None) -> BenchmarkLayout:
    """The layout of a benchmark (`name=path`, or `humaneval`); BenchmarkError (naming the file `shown_as`, when
    given) when it cannot be read at all."""
    try:
        bench = open_benchmark(spec, shown_as=shown_as)
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


# -- what the numbers mean -------------------------------------------------------------------------------------------

#: What each measure, column and parameter means, said where it is shown (table headers, metrics, inputs): the
#: README's definitions, shortened. {n}, {L}, {clean}, {dirty} are the check's parameters (`measure_help`).
MEASURE_HELP = {
    "benchmark": "A benchmark file checked, by name (its file, preset and fields are listed under the table).",
    "verdict": "clean: coverage below {clean:.0%}; partial: from {clean:.0%} to below {dirty:.0%}; dirty: from "
               "{dirty:.0%} (Llama 2's rule); empty: no text but whitespace, counted and not scored.",
    "coverage": "Share of the item's tokens inside a corpus match of at least L={L} tokens (Llama 2): how much of "
                "the item the corpus holds; template text is left out unless counted. The verdict is read from it.",
    "overlap": "Share of the item's {n}-grams (runs of n={n} tokens) that occur in the corpus (GPT-3; lm-eval's "
               "13-gram decontamination).",
    "longest_match": "Tokens in the longest span of the item that occurs in the corpus (PaLM's verbatim view).",
    "longest_count": "How many times the longest match occurs in the corpus.",
    "evidence_documents": "Corpus documents holding the longest match, when it is at least L={L} tokens long.",
    "tokens": "Tokens in the item's text; n and L count only those that are not whitespace alone.",
    "matched_by": "Which way found the verdict's matches: exact (the corpus's tokens as they are), normalized "
                  "(lower case, NFKC, no punctuation, whitespace collapsed: re-cased or re-wrapped copies), both; "
                  "blank: no match of L={L} tokens either way.",
    "items": "Items checked (empty ones are counted apart).",
    "dirty": "Items with coverage from {dirty:.0%}.",
    "partial": "Items with coverage from {clean:.0%} to below {dirty:.0%}.",
    "clean": "Items with coverage below {clean:.0%}.",
    "dirty %": "Share of the checked items that are dirty.",
    "any n-gram hit": "Items with at least one {n}-gram in the corpus: lm-eval's rule for 'dirty', far looser than "
                      "coverage (one shared phrase is enough).",
    "mean overlap": "The items' mean n-gram overlap: share of their {n}-grams found in the corpus.",
    "mean coverage": "The items' mean coverage: share of their tokens inside corpus matches of at least L={L} tokens.",
    "empty": "Items with no text but whitespace: counted, not scored.",
    "skipped": "Records that could not be checked (malformed, too long): listed below as file:line and why.",
    "templated": "Items holding template text: {n}-grams that two or more items of the same benchmark file share "
                 "(instructions, answer formats). Greyed in the item; counted only when templates are counted.",
    "n": "n-gram size of the overlap measure, in tokens that are not whitespace alone (GPT-3 and lm-eval use 13).",
    "L": "Minimum match in tokens: only corpus matches at least this long count toward coverage, the verdict and "
         "the decontamination list. 13 GPT-2 tokens (about 50 characters) occur by chance only in boilerplate.",
    "evidence": "Documents shown per item that hold its longest match (all are counted).",
    "thresholds": "Coverage below the first value is clean, from the second dirty, between partial (Llama 2: 20 % "
                  "and 80 %).",
    "match": "exact: the corpus's tokens as they are; normalised: lower case, NFKC, no punctuation, whitespace "
             "collapsed, so re-cased or re-wrapped copies are found; both: each item checked both ways, the worse "
             "verdict reported.",
    "count_templates": "Count template text (n-grams two or more items of one benchmark file share) toward "
                       "coverage, overlap and verdict. Left out by default: a shared instruction would make every "
                       "item that holds it look contaminated.",
}


def measure_help(params: ContaminationParams) -> dict[str, str]:
    """`MEASURE_HELP` with a check's parameters (a report's `params`, or the page's inputs) filled in."""
    values = {"n": params.n, "L": params.min_match, "clean": params.clean_below, "dirty": params.dirty_from}
    return {key: text.format(**values) for key, text in MEASURE_HELP.items()}


# -- a report as tables -----------------------------------------------------------------------------------------------


def item_label(item: ItemResult) -> str:
    """`benchmark:index · id · verdict · coverage`, an item as the picker lists it (no id: left out)."""
    coverage = "–" if item.coverage is None else f"{item.coverage:.0%}"
    return " · ".join(part for part in (item.key, item.id, item.verdict, coverage) if part)


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


def summary_rows(report: ContaminationReport) -> list[dict]:
    """One row of numbers per benchmark (where each came from is `benchmark_source`'s line: the table stays narrow)."""
    rows = []
    for b in report.benchmarks:
        rows.append({
            "benchmark": b.name,
            "items": b.items,
            "dirty": b.dirty,
            "partial": b.partial,
            "clean": b.clean,
            "dirty %": 100 * b.dirty / b.items if b.items else 0.0,
            "any n-gram hit": b.any_hit,
            "mean overlap": b.mean_overlap,
            "mean coverage": b.mean_coverage,
            "templated": b.templated,
            "empty": b.empty,
            "skipped": b.skipped,
        })
    return rows


def benchmark_source(b: BenchmarkSummary) -> str:
    """`name: file · preset · fields`, where a report's benchmark came from and what of it was checked."""
    preset = f"preset {b.preset} · " if b.preset else ""
    return f"{b.name}: {Path(b.file or '').name} · {preset}fields {', '.join(b.fields or ())}"


def histogram_rows(report: ContaminationReport) -> list[dict]:
    """Long form (coverage bin, benchmark, items): one bar per benchmark and decile."""
    rows = []
    for b in report.benchmarks:
        for i, count in enumerate(b.coverage_histogram):
            rows.append({"coverage": f"{10 * i}–{10 * (i + 1)}%", "benchmark": b.name, "items": count})
    return rows


def decontamination_rows(report: ContaminationReport) -> list[dict]:
    """The decontamination list: every corpus document holding a match with a dirty or partial item."""
    return [{"doc": d.doc, "id": d.id, "file": d.file, "row": d.row, "items": " ".join(d.items),
             "tokens_matched": d.tokens_matched} for d in report.documents]


def sorted_items(items: Sequence[ItemResult], verdict: str, order: str) -> list[ItemResult]:
    """The items with `verdict` ("all" for every one), by coverage (`order` "desc" or "asc") or in file order."""
    chosen = [i for i in items if verdict == "all" or i.verdict == verdict]
    if order == "file":
        return chosen
    key = (lambda i: -1.0 if i.coverage is None else i.coverage)
    return sorted(chosen, key=key, reverse=order == "desc")


# -- safe HTML -------------------------------------------------------------------------------------------------------


def _clip(spans, lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo) - lo, min(b, hi) - lo) for a, b in spans if b > lo and a < hi]


def _classed(text: str, start: int, ranges, name: str, inner: Callable[[str, int], str]) -> str:
    """`text` (found at `start` of the item's text) with its parts inside `ranges` wrapped in <span class=name>;
    every part, inside or not, rendered by `inner(part, where it starts)`."""
    out, at = [], 0
    for a, b in merge_ranges(_clip(ranges, start, start + len(text))):
        out += [inner(text[at:a], start + at), f'<span class="{name}">{inner(text[a:b], start + a)}</span>']
        at = b
    return "".join(out) + inner(text[at:], start + at)


def item_html(text: str, spans: Sequence[Sequence[int]], longest: Sequence[int] | None = None,
              limit: int = 100_000, template: Sequence[Sequence[int]] = ()) -> str:
    """The first `limit` characters of an item's text, escaped, its matched spans in <mark>, its longest match
    wrapped in <span class="longest"> and its template text (`template_spans`) in <span class="template">: built
    from `highlight_html` pieces only, so no item text is ever markup."""
    shown = text[:limit]
    spans = [(int(a), int(b)) for a, b in spans]
    template = [(int(a), int(b)) for a, b in template]

    def marked(part: str, at: int) -> str:
        return highlight_html(part, _clip(spans, at, at + len(part)))

    def greyed(part: str, at: int) -> str:
        return _classed(part, at, template, "template", marked)

    body = _classed(shown, 0, [(int(longest[0]), int(longest[1]))] if longest else [], "longest", greyed)
    more = f"\n… ({len(text) - len(shown):,} more characters)" if len(text) > len(shown) else ""
    return body + html.escape(more)


def snippet_html(snippet: Snippet, limit: int = 2000) -> str:
    """A keyword-in-context snippet escaped, the match in <mark> (a long match shown in part)."""
    match = snippet.match
    if len(match) > limit:
        match = f"{match[: limit // 2]} … {match[-limit // 2 :]}"
    return f"…{html.escape(snippet.left)}<mark>{html.escape(match)}</mark>{html.escape(snippet.right)}…"
