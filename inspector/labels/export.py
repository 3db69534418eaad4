"""Exporting a task's labels: one row per item (identity, score, each annotator's label, the final majority) as a
table, written as CSV, Parquet or JSON Lines.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import InspectorError, InvalidQuery

from ..agreement import majority
from ..results import Result
from .identity import resolve
from .labelling import label_events, latest_labels, values_by_round
from .task import Task, get_task

EXPORT_FORMATS = ("csv", "parquet", "jsonl")


@dataclass(frozen=True, slots=True)
class ExportReport(Result):
    path: str
    format: str
    rows: int
    columns: tuple[str, ...] = field(default=())


def label_table(index, task: str | Task):
    """One row per item: where it is now (`doc`, `status`), its identity, score, each annotator's current label
    (`label:NAME`; second round `label2:NAME`), the final `majority` (None: a tie or no labels), `disagreement`
    (first-round labels differ) and `adjudicated` (a second round decided it). A pyarrow Table."""
    import pyarrow as pa

    task = get_task(index, task)
    scheme = task.scheme
    items = resolve(index, task)
    current = latest_labels(label_events(index, task))
    first, second = values_by_round(current)
    annotators = sorted({a for d in first.values() for a in d})
    adjudicators = sorted({a for d in second.values() for a in d})
    label_type = pa.int64() if scheme.ordinal else pa.string()

    def shown(value):
        return None if value is None else value if scheme.ordinal else scheme.name(value)

    columns: dict[str, tuple[list, object]] = {
        "task": ([i.task for i in items], pa.string()),
        "position": ([i.position for i in items], pa.int64()),
        "doc": ([i.doc for i in items], pa.int64()),
        "status": ([i.status for i in items], pa.string()),
        "id": ([i.id for i in items], pa.string()),
        "file": ([i.file for i in items], pa.string()),
        "row": ([i.row for i in items], pa.int64()),
        "text_crc": ([i.text_crc for i in items], pa.int64()),
        "tokens": ([i.tokens for i in items], pa.int64()),
        "task_doc": ([i.task_doc for i in items], pa.int64()),
        "score": ([i.score for i in items], pa.float64()),
    }
    for a in annotators:
        columns[f"label:{a}"] = ([shown(first[i.position].get(a)) for i in items], label_type)
    for a in adjudicators:
        columns[f"label2:{a}"] = ([shown(second[i.position].get(a)) for i in items], label_type)
    finals, disagree, adjudicated, counts = [], [], [], []
    for i in items:
        given, again = first.get(i.position, {}), second.get(i.position, {})
        final = majority(list(again.values())) if again else majority(list(given.values()))
        finals.append(shown(final))
        disagree.append(len(set(given.values())) > 1)
        adjudicated.append(bool(again))
        counts.append(len(given))
    columns["labels"] = (counts, pa.int64())
    columns["majority"] = (finals, label_type)
    columns["disagreement"] = (disagree, pa.bool_())
    columns["adjudicated"] = (adjudicated, pa.bool_())
    return pa.table({name: pa.array(values, kind) for name, (values, kind) in columns.items()})


def export_labels(index, task: str | Task, out: str | Path, *, format: str | None = None) -> ExportReport:
    """Write `label_table` to `out` as csv, parquet or jsonl (by `format`, else by the file's suffix)."""
    out = Path(out)
    fmt = (format or out.suffix.lstrip(".")).lower()
    if fmt not in EXPORT_FORMATS:
        raise InvalidQuery(f"export format {fmt or out.name!r}: use one of {', '.join(EXPORT_FORMATS)}")
    table = label_table(index, task)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        elif fmt == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in table.to_pylist())
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InspectorError(f"cannot write {out}: {exc.strerror or exc}") from None
    return ExportReport(str(out), fmt, table.num_rows, tuple(table.column_names))
