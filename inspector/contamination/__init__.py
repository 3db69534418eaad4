"""Contamination: which benchmark items the corpus holds, how much of each, the evidence, and what it does to scores.

By idea: `measures` (what one item's overlap, coverage and longest match are, and the parameters that define them),
`check` (items run against the index), `flagged` (the decontamination list), `report` (the one result type, saved,
read back and kept beside the index), `scores` (clean against contaminated scores). The names are handed on here.
"""
from .check import TEMPLATE_ITEMS, WAYS, Progress, check_contamination, check_text, match_mode
from .flagged import LISTED_ITEMS
from .measures import MATCH_MODES, VERDICTS, ContaminationParams, Measures, measure, verdict
from .report import (
    BULLETIN,
    MISSED_NOTE,
    REPORT_FORMATS,
    BenchmarkSummary,
    ContaminationReport,
    Evidence,
    FlaggedDocument,
    ItemResult,
    SavedReport,
    item_rows,
    keep_report,
    kept_reports,
    load_report,
    missed_note,
    save_report,
)
from .scores import ScoreGroup, ScoreSplit, score_split

__all__ = [
    "BULLETIN",
    "LISTED_ITEMS",
    "MATCH_MODES",
    "MISSED_NOTE",
    "REPORT_FORMATS",
    "TEMPLATE_ITEMS",
    "VERDICTS",
    "WAYS",
    "BenchmarkSummary",
    "ContaminationParams",
    "ContaminationReport",
    "Evidence",
    "FlaggedDocument",
    "ItemResult",
    "Measures",
    "Progress",
    "SavedReport",
    "ScoreGroup",
    "ScoreSplit",
    "check_contamination",
    "check_text",
    "item_rows",
    "keep_report",
    "kept_reports",
    "load_report",
    "match_mode",
    "measure",
    "missed_note",
    "save_report",
    "score_split",
    "verdict",
]
