"""`inspector repeats --signal`: each document's share of its tokens inside duplicated spans, `q_dup_span_frac`
(`inspector.repeats.duplicated_fractions`), as a quality signal of the catalog, for Sample and Annotate to stratify
by and Search to filter on.

A whole-corpus signal (a document's value depends on every other document), so it is added to a built index on
request rather than at build: a build pays nothing for it, and one index can hold it for the `min_len` and
`min_docs` its users chose. It is published like a build (the live build's files hard-linked, the catalog copied
with the column added and `duplication.arrow` holding the values and their parameters), so readers keep answering
from the build they opened and a killed run leaves the index as it was. A compaction keeps it (the documents do
not change); an append computes it again, with the same parameters, since every document's value may change.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import feather

from index import storage
from index.catalog import set_signal_column
from index.errors import InspectorError
from index.layout import CATALOG, DUPLICATION, DUPLICATION_SIGNAL

from .build_part import write_table
from .repeats import Cover, duplicated_fractions
from .results import DuplicationSignal


def add_duplication_signal(index, min_len: int = 50, min_docs: int = 2, progress=None, *,
                           cover: Cover | None = None) -> DuplicationSignal:
    """Compute `q_dup_span_frac` over the opened `index` (windows of `min_len` tokens in `min_docs`+ documents) and
    publish it into its folder's catalog as a new build; refused if another build went live meanwhile."""
    fractions = duplicated_fractions(index, min_len, min_docs, progress, cover=cover)
    out = Path(index.path)
    try:
        final = _publish(index, out, fractions, min_len, min_docs)
    except OSError as exc:  # disk full, read-only folder: the temporary build is gone, the live one kept
        raise InspectorError(f"adding q_dup_span_frac failed writing {exc.filename or out}: {exc.strerror or exc}; "
                             f"the index in {out} is kept") from None
    return DuplicationSignal(str(out), DUPLICATION_SIGNAL, min_len, min_docs, len(fractions),
                             int(np.count_nonzero(fractions)), final.name)


def _publish(index, out: Path, fractions: np.ndarray, min_len: int, min_docs: int) -> Path:
    """A new build of `out`: the live build's files, its catalog with the column, `duplication.arrow`."""
    with storage.build_area(out) as tmp:
        if storage.current_name(out) != index.build.name:
            raise InspectorError(f"{out} changed while q_dup_span_frac was computed (an append or a compaction): "
                                 "run it again")
        known: dict = {}
        storage.link_files(index.build, tmp, index.manifest.files, known, lambda rel: rel in (CATALOG, DUPLICATION))
        shutil.copyfile(index.build / CATALOG, tmp / CATALOG)
        set_signal_column(tmp / CATALOG, DUPLICATION_SIGNAL, fractions)
        table = pa.table({DUPLICATION_SIGNAL: fractions})
        write_table(table.replace_schema_metadata({"min_len": str(min_len), "min_docs": str(min_docs)}),
                    tmp / DUPLICATION)
        return storage.commit(tmp, index.manifest, known)


def duplication_parameters(build: Path) -> tuple[int, int] | None:
    """The `(min_len, min_docs)` the signal in build folder `build` was computed for, or None when it has none."""
    if not (build / DUPLICATION).exists():
        return None
    meta = feather.read_table(build / DUPLICATION, memory_map=True).schema.metadata
    return int(meta[b"min_len"]), int(meta[b"min_docs"])
