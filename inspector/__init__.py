"""Corpus Inspector: look inside LLM pretraining corpora (Parquet shards) with exact n-gram counts.

The public API: the CLI and the app use only what is exported here.
"""
from index.errors import BuildLocked, CorpusError, IndexCorrupt, IndexMissing, InspectorError, InvalidQuery

from .build import Progress, build_index
from .corpus_index import CorpusIndex, live_build_name, open_index
from .demo import DEFAULT_DEMO, build_demo
from .highlight import highlight_html
from .query import BOUNDARIES, parse_ids
from .results import (
    BuildReport,
    CorpusStats,
    CountResult,
    Distribution,
    Document,
    DocumentHit,
    FindResult,
    GroupCount,
    IndexInfo,
    InfgramResult,
    InfgramToken,
    Match,
    NextToken,
    NtdResult,
    ProbResult,
    SearchHit,
    SearchResult,
    ShardInfo,
    Snippet,
    Variant,
)
from .settings import Settings

__all__ = [
    "BOUNDARIES",
    "DEFAULT_DEMO",
    "BuildLocked",
    "BuildReport",
    "CorpusError",
    "CorpusIndex",
    "CorpusStats",
    "CountResult",
    "Distribution",
    "Document",
    "DocumentHit",
    "FindResult",
    "GroupCount",
    "IndexCorrupt",
    "IndexInfo",
    "IndexMissing",
    "InfgramResult",
    "InfgramToken",
    "InspectorError",
    "InvalidQuery",
    "Match",
    "NextToken",
    "NtdResult",
    "ProbResult",
    "Progress",
    "SearchHit",
    "SearchResult",
    "Settings",
    "ShardInfo",
    "Snippet",
    "Variant",
    "build_demo",
    "build_index",
    "highlight_html",
    "live_build_name",
    "open_index",
    "parse_ids",
]
