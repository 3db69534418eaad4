"""A contamination check's results (one type, whatever renders it: the CLI, the page, the JSON) and the reports on
disk: saved as JSON (read back by `load_report`, older versions too), JSONL, CSV or Parquet, and kept beside the index
(the corpus's bulletin).
"""
from __future__ import annotations

import json
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from functools import cache
from pathlib import Path
from types import UnionType

from index.errors import InvalidQuery

from ..atomic_file import write_then_rename
from ..benchmarks import MAX_JSON_BYTES
from ..bounded_read import read_text
from ..results import Result, Snippet
from .measures import ContaminationParams


@dataclass(frozen=True, slots=True)
class Evidence(Result):
    """A corpus document holding an item's longest match, with the match in context."""

    doc: int
    id: str | None
    file: str
    row: int
    snippet: Snippet
    #: where the match is in the document's text, in characters (None in normalised mode: it is in the normalised
    #: text there); the Document page marks it (`?doc=DOC&mark=START-END`)
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ItemResult(Result):
    benchmark: str
    #: 0-based record number in the benchmark file
    index: int
    id: str | None
    text: str
    tokens: int
    #: share of the item's n-grams that occur in the corpus (None for an empty item)
    overlap: float | None
    ngrams: int
    ngrams_found: int
    #: tokens of the longest span of the item that occurs verbatim; where it is (characters of `text`); how often
    longest_match: int
    longest_span: tuple[int, int]
    longest_count: int
    #: share of tokens inside corpus matches of >= min_match tokens (Llama 2)
    coverage: float | None
    #: clean, partial, dirty; `empty` for an item with no text but whitespace (counted, not scored)
    verdict: str
    #: character spans of `text` inside matches of >= min_match tokens
    spans: tuple[tuple[int, int], ...]
    evidence: tuple[Evidence, ...]
    #: documents holding the longest match (a lower bound when `evidence_approx`)
    evidence_documents: int
    evidence_approx: bool
    score: float | None = None
    #: which way found the reported verdict's matches: "exact", "normalized", "both", or "" (no match of >= L tokens);
    #: None in a report kept before the match modes, which cannot say
    matched_by: str | None = None
    #: character spans of `text` inside n-grams that occur in several items of the same file (not counted by default)
    template_spans: tuple[tuple[int, int], ...] = ()

    @classmethod
    def empty(cls, item, tokens: int = 0) -> ItemResult:
        """The result of an item (a `BenchmarkItem`) with no text but whitespace: counted, not scored."""
        return cls(benchmark=item.benchmark, index=item.index, id=item.id, text=item.text, tokens=tokens,
                   overlap=None, ngrams=0, ngrams_found=0, longest_match=0, longest_span=(0, 0), longest_count=0,
                   coverage=None, verdict="empty", spans=(), evidence=(), evidence_documents=0,
                   evidence_approx=False, score=item.score, matched_by="")

    @property
    def key(self) -> str:
        """`benchmark:index`, as the decontamination list and the page's URL name an item."""
        return f"{self.benchmark}:{self.index}"


@dataclass(frozen=True, slots=True)
class BenchmarkSummary(Result):
    name: str
    file: str
    preset: str | None
    fields: tuple[str, ...]
    #: items checked (empty ones excluded), empty items, records skipped (malformed, too long)
    items: int
    empty: int
    skipped: int
    dirty: int
    partial: int
    clean: int
    any_hit: int
    mean_overlap: float
    mean_coverage: float
    #: items per coverage decile: [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]
    coverage_histogram: tuple[int, ...]
    problems: tuple[str, ...]
    #: items holding template text (shared with several items of the file)
    templated: int = 0

    def share(self, verdict_name: str) -> float:
        return getattr(self, verdict_name) / self.items if self.items else 0.0


@dataclass(frozen=True, slots=True)
class FlaggedDocument(Result):
    """A corpus document holding matches of >= min_match tokens with dirty or partial items: what to remove."""

    doc: int
    id: str | None
    file: str
    row: int
    #: "benchmark:index" of each item matched
    items: tuple[str, ...]
    #: tokens of the document inside those matches (of the way that matched more, when both did)
    tokens_matched: int
    #: token spans [start, end) of the document inside those matches, merged (`decontaminate --mask` blanks them)
    spans: tuple[tuple[int, int], ...]
    #: the same for matches of normalised text, in the tokens of the document's normalised text (`decontaminate
    #: --mask` blanks the characters they came from)
    normalized_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ContaminationReport(Result):
    index: str
    build: str
    tokenizer: str
    mode: str
    created: str
    params: ContaminationParams
    benchmarks: tuple[BenchmarkSummary, ...]
    items: tuple[ItemResult, ...]
    documents: tuple[FlaggedDocument, ...]
    #: True when a listed span had more occurrences than were read: `documents` is then a sample of them
    documents_approx: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def kept_before_ways(self) -> bool:
        """Kept before items said which way matched them and template text was told apart (the two came together):
        such a report cannot say either."""
        return any(item.matched_by is None for item in self.items[:1])

    @classmethod
    def from_dict(cls, data: dict) -> ContaminationReport:
        """The report of a dict form (`as_dict()`, a kept .json), of older versions too: a field they lack takes its
        default, a key no longer used is dropped, and a normalised check's spans from before reports had both kinds
        become its `normalized_spans`. KeyError, TypeError or ValueError when `data` is not a report."""
        if data.get("mode") == "normalized":
            data = {**data, "documents": [_normalized_spans(d) for d in data["documents"]]}
        return from_plain(cls, data)


def _normalized_spans(document: dict) -> dict:
    """A flagged document of a normalised check: kept before reports had both kinds of spans, its `spans` are of the
    document's normalised text."""
    return document if "normalized_spans" in document else {**document, "spans": [], "normalized_spans":
                                                            document["spans"]}


MISSED_NOTE = ("only exact tokens were compared: re-cased or re-wrapped copies of items are missed; build the index "
               "with `inspector build --normalized` to find them")


def missed_note(report_or_mode) -> str | None:
    """The sentence the CLI prints and the page shows when a check compared exact tokens only because the index has
    no normalised shards (a report, its dict form as `--json` prints it, or a mode; an explicit `match="exact"` gets
    no note)."""
    if isinstance(report_or_mode, str):
        mode, match = report_or_mode, "auto"
    elif isinstance(report_or_mode, dict):
        mode, match = report_or_mode["mode"], report_or_mode["params"].get("match", "auto")
    else:
        mode, match = report_or_mode.mode, report_or_mode.params.match
    return MISSED_NOTE if mode == "exact" and match == "auto" else None


# -- reports on disk ------------------------------------------------------------------------------------------------

REPORT_FORMATS = (".json", ".jsonl", ".csv", ".parquet")


def item_rows(items: Sequence[ItemResult], text_chars: int | None = None) -> list[dict]:
    """One flat row per item: what the JSONL, CSV and Parquet reports and the app's item table hold; texts cut to
    `text_chars` when given."""
    rows = []
    for item in items:
        a, b = item.longest_span
        text = item.text
        rows.append({
            "item": item.key,
            "benchmark": item.benchmark,
            "index": item.index,
            "id": item.id,
            "verdict": item.verdict,
            "coverage": item.coverage,
            "overlap": item.overlap,
            "ngrams": item.ngrams,
            "ngrams_found": item.ngrams_found,
            "longest_match": item.longest_match,
            "longest_text": text[a:b] if text_chars is None else text[a : min(b, a + text_chars)],
            "longest_count": item.longest_count,
            "evidence_documents": item.evidence_documents,
            "evidence": ",".join(str(e.doc) for e in item.evidence),
            "tokens": item.tokens,
            "score": item.score,
            "text": text if text_chars is None else text[:text_chars],
        })
    return rows


def save_report(report: ContaminationReport | dict, path: str | Path) -> Path:
    """The whole report (or its `as_dict()` form) as JSON (what `decontaminate` and the app read back), or its items
    as JSONL, CSV or Parquet, by the file's extension; written beside and renamed, so a reader never sees half a
    report."""
    import pyarrow as pa

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise InvalidQuery(f"report {path}: the name must end in one of {', '.join(REPORT_FORMATS)}")
    data = report if isinstance(report, dict) else report.as_dict()
    items = () if suffix == ".json" else (report if isinstance(report, ContaminationReport)
                                          else ContaminationReport.from_dict(report)).items
    def write(tmp: Path) -> None:
        if suffix == ".json":
            with open(tmp, "w", encoding="utf-8") as f:
                _dump_json(data, f)
        elif suffix == ".jsonl":
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in item_rows(items)))
        else:
            table = pa.Table.from_pylist(item_rows(items))
            if suffix == ".csv":
                import pyarrow.csv as csv

                csv.write_csv(table, tmp)
            else:
                import pyarrow.parquet as pq

                pq.write_table(table, tmp)

    write_then_rename(path, write, lambda reason: InvalidQuery(f"cannot write report {path}: {reason}"))
    return path


def _dump_json(data: dict, f) -> None:
    """`json.dump(data, f)`, its lists encoded an element at a time by the C encoder: as fast as `json.dumps`
    (json.dump encodes in Python, 5x slower), yet never holding the interpreter for the whole report, so a shared
    server's other requests run meanwhile."""
    f.write("{")
    for i, (key, value) in enumerate(data.items()):
        f.write((", " if i else "") + json.dumps(key) + ": ")
        if isinstance(value, (list, tuple)):
            f.write("[")
            for j, element in enumerate(value):
                f.write((", " if j else "") + json.dumps(element, ensure_ascii=False))
            f.write("]")
        else:
            f.write(json.dumps(value, ensure_ascii=False))
    f.write("}")


def load_report(path: str | Path) -> ContaminationReport:
    """A JSON report as saved by `save_report` (of an older version too: `ContaminationReport.from_dict`)."""
    path = Path(path)
    try:
        report = json.loads(read_text(path, MAX_JSON_BYTES, "report"))
    except InvalidQuery as exc:  # unreadable, not UTF-8 (a .parquet report), or over the bound
        raise InvalidQuery(f"{exc}: give the .json report") from None
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise InvalidQuery(f"report {path} cannot be read as JSON: give the .json report") from None
    try:
        return ContaminationReport.from_dict(report)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidQuery(f"{path} is not a contamination report saved as .json by `inspector contam --out`") from None


# -- the bulletin: reports kept beside the index -----------------------------------------------------------------

BULLETIN = "reports"


@dataclass(frozen=True, slots=True)
class SavedReport(Result):
    path: str
    created: str
    mode: str
    build: str
    benchmarks: tuple[str, ...]
    items: int
    dirty: int


def keep_report(index, report: ContaminationReport | dict) -> Path:
    """Save a report (or its `as_dict()` form) as JSON in the index folder's `reports/`, so the corpus's checks are
    listed later."""
    data = report if isinstance(report, dict) else report.as_dict()
    folder = Path(index.path) / BULLETIN
    folder.mkdir(exist_ok=True)
    stamp = data["created"].replace(":", "").replace("-", "").replace("+0000", "Z")
    names = "-".join(b["name"] for b in data["benchmarks"])[:80]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in names) or "report"
    path, number = folder / f"{stamp}-{data['mode']}-{safe}.json", 1
    while path.exists():  # two checks in the same second keep both
        number += 1
        path = folder / f"{stamp}-{data['mode']}-{safe}-{number}.json"
    save_report(data, path)
    summary = SavedReport(str(path), data["created"], data["mode"], data["build"],
                          tuple(b["name"] for b in data["benchmarks"]), sum(b["items"] for b in data["benchmarks"]),
                          sum(b["dirty"] for b in data["benchmarks"]))
    _summary_path(path).write_text(json.dumps(summary.as_dict()), encoding="utf-8")
    return path


def _summary_path(report: Path) -> Path:
    """The kept report's summary beside it: the bulletin lists reports without parsing each whole."""
    return report.with_name(report.name + ".summary")


def kept_reports(index) -> list[SavedReport]:
    """The reports kept beside this index, newest first (unreadable ones are left out)."""
    out = []
    for path in sorted((Path(index.path) / BULLETIN).glob("*.json"), reverse=True):
        try:
            summary = _summary_path(path)
            if summary.is_file():
                data = json.loads(read_text(summary, 1 << 20, "report summary"))
                out.append(SavedReport(**{**data, "path": str(path), "benchmarks": tuple(data["benchmarks"])}))
                continue
            data = json.loads(read_text(path, MAX_JSON_BYTES, "report"))  # kept before summaries were
            benchmarks = data["benchmarks"]
            out.append(SavedReport(str(path), data["created"], data["mode"], data["build"],
                                   tuple(b["name"] for b in benchmarks), sum(b["items"] for b in benchmarks),
                                   sum(b["dirty"] for b in benchmarks)))
        except (InvalidQuery, ValueError, RecursionError, KeyError, TypeError):
            continue
    return out


# -- a report from its dict form ---------------------------------------------------------------------------------


def from_plain(cls: type, data: dict):
    """The dataclass `cls` from its `as_dict()` form (read from JSON): nested dataclasses and tuples made again from
    their dicts and lists, as the field types say; a missing field takes its default, an unknown key is dropped."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: a dict is needed, not {type(data).__name__}")
    names, required, readers = _plan(cls)
    if not required <= data.keys():
        raise KeyError(f"{cls.__name__} needs {', '.join(sorted(required - data.keys()))}")
    values = {key: value for key, value in data.items() if key in names}
    for name, read in readers:
        if name in values:
            values[name] = read(values[name])
    return cls(**values)


@cache
def _plan(cls: type) -> tuple[frozenset[str], frozenset[str], tuple[tuple[str, Callable], ...]]:
    """The fields of `cls`, those without a default, and how to read the JSON value of each that is not read as it
    is (a report of 50,000 items is read in about a second)."""
    hints = typing.get_type_hints(cls)
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    readers = ((f.name, _reader(hints[f.name])) for f in fields(cls))
    return (frozenset(f.name for f in fields(cls)), frozenset(required),
            tuple((name, read) for name, read in readers if read is not None))


def _reader(hint) -> Callable | None:
    """How a JSON value becomes a value of type `hint` (None: it already is one)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if is_dataclass(hint):
        return lambda value: from_plain(hint, value)
    if origin in (UnionType, typing.Union):  # X | None
        (inner,) = [_reader(a) for a in args if a is not type(None)]
        return None if inner is None else lambda value: None if value is None else inner(value)
    if origin is tuple:
        inner = _reader(args[0]) if args else None
        if len(args) == 2 and args[1] is Ellipsis or len(set(args)) == 1:
            return tuple if inner is None else lambda value: tuple(map(inner, value))
        raise TypeError(f"no reader for {hint}")
    return None
