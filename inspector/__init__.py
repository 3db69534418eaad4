"""Corpus Inspector: look inside LLM pretraining corpora (Parquet shards) with exact n-gram counts.

The public API; the CLI and the app use only what is exported here.
"""
from index.errors import BuildLocked, CorpusError, IndexCorrupt, IndexMissing, InspectorError, InvalidQuery

from .build import build_index
from .corpus_index import CorpusIndex, open_index
from .results import (
    BuildReport,
    CountResult,
    Document,
    DocumentHit,
    FindResult,
    IndexInfo,
    InfgramResult,
    NtdResult,
    ProbResult,
)
from .settings import Settings

__all__ = [
    "BuildLocked",
    "BuildReport",
    "CorpusError",
    "CorpusIndex",
    "CountResult",
    "Document",
    "DocumentHit",
    "FindResult",
    "IndexCorrupt",
    "IndexInfo",
    "IndexMissing",
    "InfgramResult",
    "InspectorError",
    "InvalidQuery",
    "NtdResult",
    "ProbResult",
    "Settings",
    "build_index",
    "open_index",
]
