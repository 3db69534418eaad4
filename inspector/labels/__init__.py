"""Annotation tasks and their labels, kept in a DuckDB file beside the index (DIR/labels.duckdb), outside every
build, so rebuilds keep them. One module per job, each importing only those listed before it:

    store       the file: its schema, one connection per process, the names and times it stores
    task        tasks and their label schemes: which documents, how they are labelled, what annotators see
    identity    each item found again in the build the index answers from (`resolve`)
    labelling   recording labels and skips, reading them back (current, or with their history)
    queue       the annotator's next item and progress in a round
    rename      renaming or merging an annotator's labels in a task, recorded
    stats       agreement, majorities, disagreements and adjudication, the score against the labels
    export      the labels as one table, written as CSV, Parquet or JSON Lines

This package hands on the names its users import (`from inspector.labels import X`).
"""
from index.errors import InspectorError, InvalidQuery

from .export import EXPORT_FORMATS, ExportReport, export_labels, label_table
from .identity import Item, resolve
from .labelling import MAX_NOTE, Label, add_label, current_labels, labelled_docs, skip
from .queue import Progress, annotator_view, next_item, progress
from .rename import Rename, RenamePlan, plan_rename, rename_annotator, renames
from .stats import Disagreement, LabelStats, label_stats
from .store import STORE, check_annotator, close_store, labels_path
from .task import MAX_GUIDELINE, Scheme, Task, annotator_metadata, create_task, get_task, parse_scheme, tasks

__all__ = [
    "EXPORT_FORMATS",
    "MAX_GUIDELINE",
    "MAX_NOTE",
    "STORE",
    "Disagreement",
    "ExportReport",
    "InspectorError",
    "InvalidQuery",
    "Item",
    "Label",
    "LabelStats",
    "Progress",
    "Rename",
    "RenamePlan",
    "Scheme",
    "Task",
    "add_label",
    "annotator_metadata",
    "annotator_view",
    "check_annotator",
    "close_store",
    "create_task",
    "current_labels",
    "export_labels",
    "get_task",
    "label_stats",
    "label_table",
    "labelled_docs",
    "labels_path",
    "next_item",
    "parse_scheme",
    "plan_rename",
    "progress",
    "rename_annotator",
    "renames",
    "resolve",
    "skip",
    "tasks",
]
