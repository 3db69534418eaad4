"""The on-disk layout of an index, in one place: its file and folder names, the manifest (a typed, frozen `Manifest`
read from and written to the same JSON), the checks a manifest passes before anything reads it, and the document
table's schema. A change of format is made here, with `FORMAT_VERSION`.

Layout of an index folder DIR (see `index.storage` for how builds are published and held open):

    DIR/CURRENT                   the live build's name and its manifest's SHA-256
    DIR/build-<ns>/manifest.json  this module's `Manifest`, listing every file below with its size and CRC-32
    DIR/build-<ns>/shard-NNNN/    an n-gram shard (`index.suffix_array.SHARD_FILES`); normalized/shard-NNNN likewise
    DIR/build-<ns>/documents.arrow, catalog.duckdb, signals.arrow, fulltext/, tokenizer.json (a Hugging Face one)
    DIR/build-<ns>/duplication.arrow  each document's `q_dup_span_frac`, once `inspector repeats --signal` added it
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from .errors import IndexCorrupt
from .fulltext import FieldSpec
from .suffix_array import SHARD_FILES, shard_sizes, width_for

FORMAT = "corpus-inspector"
FORMAT_VERSION = 4
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
READERS = ".readers"
VERIFIED = ".verified"
DOCUMENTS = "documents.arrow"
SIGNALS = "signals.arrow"
CATALOG = "catalog.duckdb"
#: one column, DUPLICATION_SIGNAL, in document order; its schema's metadata holds the `min_len` and `min_docs` it is for
DUPLICATION = "duplication.arrow"
#: the catalog column of each document's share of tokens in duplicated spans (a metadata column of this name is
#: renamed `meta_q_dup_span_frac` at build, so adding the signal later never meets the corpus's own)
DUPLICATION_SIGNAL = "q_dup_span_frac"
FULLTEXT = "fulltext"
#: the folder of the normalised text's shards (`inspector.normalize`)
NORMALIZED = "normalized"

#: the document table (documents.arrow): one row per document, in document order
DOCUMENT_SCHEMA = pa.schema([
    ("doc", pa.int64()),
    ("file", pa.int32()),  # the source file's number in `Manifest.sources`
    ("row", pa.int64()),
    ("id", pa.string()),
    ("tokens", pa.int64()),
    ("chars", pa.int64()),
    ("shard", pa.int32()),
    ("text_crc", pa.int64()),  # CRC-32 of the UTF-8 text as indexed: a text read back is checked against it
])
#: what a build part records of each document: all but its number and its shard, which the publish lays out
PART_DOCUMENT_SCHEMA = pa.schema([f for f in DOCUMENT_SCHEMA if f.name not in ("doc", "shard")])


def shard_name(number: int, normalized: bool = False) -> str:
    """The folder of shard `number` inside a build."""
    return f"{NORMALIZED + '/' if normalized else ''}shard-{number:04d}"


# -- the manifest --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FileFacts:
    """A file of the build as it was written: read against these on open (see `index.storage`)."""

    size: int
    crc32: int
    ctime_ns: int


@dataclass(frozen=True, slots=True)
class ShardRecord:
    """An n-gram shard: its folder, its first document's number, its tokens (document separators included) and
    documents."""

    name: str
    doc_lo: int
    tokens: int
    documents: int


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A Parquet shard as the index saw it: its size and modification time say on open that it was changed after
    the build; its footer's CRC (and each document's text CRC, in the document table) are checked when it is read."""

    path: str
    rows: int
    size: int
    mtime_ns: int
    footer_crc: int
    columns: tuple[str, ...]

    def to_json(self) -> dict:
        return {**asdict(self), "columns": list(self.columns)}


@dataclass(frozen=True, slots=True)
class TokenizerRecord:
    """The tokenizer that built the index: `identity` as `inspector.tokenizer` records it (checked whole against the
    tokenizer on load), its kind and largest id read out of it."""

    identity: Mapping = field(compare=True)

    @property
    def kind(self) -> str:
        return self.identity["kind"]

    @property
    def max_id(self) -> int:
        return self.identity["max_id"]


@dataclass(frozen=True, slots=True)
class FulltextRecord:
    """The full-text index: stemming, its tokenizer (None in an index from before the choice: it is "words"), its
    metadata fields."""

    stem: bool
    tokenizer: str | None
    fields: tuple[FieldSpec, ...]

    @property
    def terms(self) -> str:
        """The tokenizer its terms were cut with: as recorded, "words" where none is."""
        return "words" if self.tokenizer is None else self.tokenizer


@dataclass(frozen=True, slots=True)
class NormalizedRecord:
    """The n-gram shards of the documents' normalised text (same document numbers)."""

    shards: tuple[ShardRecord, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """A build's manifest.json, typed. Fields in the order they are written; `files` is filled in by the commit."""

    created: str
    tokenizer: TokenizerRecord
    width: int
    text_column: str
    id_column: str | None
    documents: int
    tokens: int
    empty_skipped: int
    sources: tuple[SourceFile, ...]
    shards: tuple[ShardRecord, ...]
    fulltext: FulltextRecord | None
    normalized: NormalizedRecord | None
    files: Mapping[str, FileFacts] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: dict, where: Path) -> Manifest:
        """A manifest from its JSON, checked first (`check_manifest`: IndexCorrupt naming `where` if it fails)."""
        check_manifest(value, where)
        fulltext, normalized = value["fulltext"], value["normalized"]
        return cls(
            created=value["created"],
            tokenizer=TokenizerRecord(value["tokenizer"]),
            width=value["width"],
            text_column=value["text_column"],
            id_column=value["id_column"],
            documents=value["documents"],
            tokens=value["tokens"],
            empty_skipped=value["empty_skipped"],
            sources=tuple(SourceFile(s["path"], s["rows"], s["size"], s["mtime_ns"], s["footer_crc"],
                                     tuple(s["columns"])) for s in value["sources"]),
            shards=shard_records(value["shards"]),
            fulltext=None if fulltext is None else FulltextRecord(
                fulltext["stem"], fulltext.get("tokenizer"),
                tuple(FieldSpec(f["column"], f["field"], f["kind"]) for f in fulltext["fields"])),
            normalized=None if normalized is None else NormalizedRecord(shard_records(normalized["shards"])),
            files={rel: FileFacts(f["size"], f["crc32"], f["ctime_ns"]) for rel, f in value["files"].items()},
        )

    @classmethod
    def read(cls, build: Path, digest: str | None = None) -> Manifest:
        """The manifest of build folder `build`, checked against `digest` (its SHA-256, from CURRENT) when given;
        IndexCorrupt when it fails, is not JSON, is of another format version or fails `check_manifest`. An
        unreadable file is the OSError."""
        corrupt = f"index at {build.parent} is corrupt or incomplete"
        text = (build / MANIFEST).read_bytes()
        if digest is not None and hashlib.sha256(text).hexdigest() != digest:
            raise IndexCorrupt(f"{corrupt} ({MANIFEST} fails its checksum): rebuild it")
        try:
            value = json.loads(text)
        except ValueError:
            raise IndexCorrupt(f"{corrupt} ({MANIFEST} is not JSON): rebuild it") from None
        if isinstance(value, dict) and value.get("format") == FORMAT and value.get("version") != FORMAT_VERSION:
            raise IndexCorrupt(
                f"index at {build.parent} has format version {value.get('version')!r}, this program reads "
                f"{FORMAT_VERSION}: rebuild it"
            )
        return cls.from_json(value, build.parent)

    def to_json(self) -> dict:
        """The JSON object written: the format and version first, the files last, keys in today's order (an optional
        key absent in the manifest read stays absent)."""
        fulltext = None
        if self.fulltext is not None:
            tokenizer = {} if self.fulltext.tokenizer is None else {"tokenizer": self.fulltext.tokenizer}
            fulltext = {"stem": self.fulltext.stem, **tokenizer, "fields": [asdict(f) for f in self.fulltext.fields]}
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created": self.created,
            "tokenizer": self.tokenizer.identity,
            "width": self.width,
            "text_column": self.text_column,
            "id_column": self.id_column,
            "documents": self.documents,
            "tokens": self.tokens,
            "empty_skipped": self.empty_skipped,
            "sources": [s.to_json() for s in self.sources],
            "shards": [asdict(s) for s in self.shards],
            "fulltext": fulltext,
            "normalized": None if self.normalized is None else {"shards": [asdict(s) for s in self.normalized.shards]},
            "files": {rel: asdict(f) for rel, f in self.files.items()},
        }

    def encode(self) -> bytes:
        """The bytes of manifest.json."""
        return json.dumps(self.to_json(), indent=1).encode()

    def write(self, build: Path) -> str:
        """Write manifest.json into `build`, checked as readers will check it (a build never publishes what it
        cannot open); its SHA-256."""
        text = self.encode()
        check_manifest(json.loads(text), build.parent)
        (build / MANIFEST).write_bytes(text)
        return hashlib.sha256(text).hexdigest()


def shard_records(entries: list[dict]) -> tuple[ShardRecord, ...]:
    """Shard records from their JSON (as `index.shard_merge.assemble` also gives them)."""
    return tuple(ShardRecord(e["name"], e["doc_lo"], e["tokens"], e["documents"]) for e in entries)


# -- the manifest's shape: checked on the JSON, before it is typed -------------------------------------------------

_INT, _STR, _BOOL = "int", "str", "bool"
_FILE = {"size": _INT, "crc32": _INT, "ctime_ns": _INT}
_SHARD = {"name": _STR, "doc_lo": _INT, "tokens": _INT, "documents": _INT}
_SCHEMA = {
    "format": _STR,
    "version": _INT,
    "created": _STR,
    "tokenizer": {"kind": _STR, "max_id": _INT},
    "width": _INT,
    "text_column": _STR,
    "id_column": (_STR, None),
    "documents": _INT,
    "tokens": _INT,
    "empty_skipped": _INT,
    "sources": [{"path": _STR, "rows": _INT, "size": _INT, "mtime_ns": _INT, "footer_crc": _INT, "columns": [_STR]}],
    "shards": [_SHARD],
    "fulltext": (None, {"stem": _BOOL, "fields": [{"column": _STR, "field": _STR, "kind": _STR}]}),
    "normalized": (None, {"shards": [_SHARD]}),
    "files": {_STR: _FILE},
}


def _shape_error(value, schema, where: str) -> str | None:
    """Where `value` departs from `schema` (dicts: these keys at least; [s]: a list of s; (a, b): either; {str: s}:
    any keys, each value s), or None."""
    if isinstance(schema, tuple):
        errors = [_shape_error(value, option, where) for option in schema]
        return None if None in errors else errors[-1]
    if schema is None:
        return None if value is None else f"{where} is not null"
    if schema == _INT:
        return None if type(value) is int and value >= 0 else f"{where} is not a non-negative integer"
    if schema == _STR:
        return None if isinstance(value, str) else f"{where} is not text"
    if schema == _BOOL:
        return None if isinstance(value, bool) else f"{where} is not true or false"
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where} is not a list"
        return next((e for i, v in enumerate(value) if (e := _shape_error(v, schema[0], f"{where}[{i}]"))), None)
    if not isinstance(value, dict):
        return f"{where} is not an object"
    if list(schema) == [_STR]:
        return next((e for k, v in value.items() if (e := _shape_error(v, schema[_STR], f"{where}.{k}"))), None)
    for key, sub in schema.items():
        if key not in value:
            return f"{where}.{key} is missing"
        if error := _shape_error(value[key], sub, f"{where}.{key}"):
            return error
    return None


def _shards_error(shards: list[dict], documents: int) -> str | None:
    """Shards must number the documents one after another, all of them."""
    doc_lo = 0
    for shard in shards:
        if shard["doc_lo"] != doc_lo:
            return f"shard {shard['name']} starts at document {shard['doc_lo']}, not {doc_lo}"
        doc_lo += shard["documents"]
    if doc_lo != documents:
        return f"the shards hold {doc_lo} documents, the manifest says {documents}"
    return None


def _shard_files_error(shards: list[dict], files: dict[str, dict], width: int) -> str | None:
    """Each shard's files are listed (so checked), and its raw files' sizes follow from its counts and the width."""
    for shard in shards:
        if shard["documents"] > shard["tokens"]:
            return f"shard {shard['name']} has {shard['documents']} documents but {shard['tokens']} tokens"
        sizes = shard_sizes(width, shard["tokens"], shard["documents"])
        for file in SHARD_FILES:
            rel = f"{shard['name']}/{file}"
            if rel not in files:
                return f"files.{rel} is missing"
            if file in sizes and files[rel]["size"] != sizes[file]:
                return f"files.{rel}.size is {files[rel]['size']}, its shard's tokens and the width make {sizes[file]}"
    return None


def _totals_error(manifest: dict) -> str | None:
    """The manifest's totals are those of its parts: a hand edit of one number is refused, not shown."""
    try:
        width = width_for(manifest["tokenizer"]["max_id"])
    except ValueError:
        return "manifest.tokenizer.max_id does not fit in 32 bits"
    if manifest["width"] != width:
        return f"manifest.width is {manifest['width']}, the tokenizer's ids take {width}"
    shard_tokens = sum(s["tokens"] for s in manifest["shards"])
    if manifest["tokens"] + manifest["documents"] != shard_tokens:
        return f"manifest.tokens is {manifest['tokens']}, its shards hold {shard_tokens - manifest['documents']}"
    rows = sum(s["rows"] for s in manifest["sources"])
    if manifest["documents"] + manifest["empty_skipped"] != rows:
        return (f"manifest.documents ({manifest['documents']}) and manifest.empty_skipped "
                f"({manifest['empty_skipped']}) do not add up to the sources' {rows} rows")
    return None


def check_manifest(manifest, out: Path) -> None:
    """Every field this program reads, with its type, and the facts that tie fields together; IndexCorrupt if not."""
    error = _shape_error(manifest, _SCHEMA, "manifest")
    if error is None:
        normalized = (manifest["normalized"] or {}).get("shards", [])
        if manifest["format"] != FORMAT:
            error = "not a corpus-inspector manifest"
        elif any(not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", rel) or ".." in rel.split("/") for rel in manifest["files"]):
            error = "a file path leaves the build folder"
        elif any(not re.fullmatch(r"shard-\d{4}", s["name"]) for s in manifest["shards"]) or any(
            not re.fullmatch(rf"{NORMALIZED}/shard-\d{{4}}", s["name"]) for s in normalized
        ):
            error = "a shard name is not shard-NNNN"
        else:
            error = (
                _shards_error(manifest["shards"], manifest["documents"])
                or (_shards_error(normalized, manifest["documents"]) if manifest["normalized"] else None)
                or _totals_error(manifest)
                or _shard_files_error([*manifest["shards"], *normalized], manifest["files"], manifest["width"])
            )
    if error:
        raise IndexCorrupt(f"index at {out} is corrupt or incomplete ({error}): rebuild it")
