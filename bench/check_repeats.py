"""Duplicated spans checked on real text: `inspector repeats`' places against a plain hash of every L-token window.

    python bench/check_repeats.py bench/data/corpus bench/data/index --min-len 50

The reference reads only the Parquet text: each non-empty row tokenized again (GPT-2), every window of L tokens
inside a document hashed (a sum of its tokens times random 64-bit weights, mod 2^64), a window duplicated when its
hash stands in at least D documents, and each document's duplicated spans the maximal runs of tokens such windows
cover. The index's answer is `duplicated_documents` (its suffix and LCP arrays). Documents are matched by (file,
row), never by the index's numbering; the two sets of spans must be equal.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def reference_spans(corpus: Path, length: int, min_docs: int) -> dict[tuple[str, int], list[tuple[int, int]]]:
    """(file, row) -> the document's duplicated spans in its tokens, from the Parquet text alone."""
    from inspector.tokenizer import make_tokenizer

    keys, texts = [], []
    for path in sorted((p.resolve() for p in corpus.rglob("*.parquet")), key=str):
        for row, text in enumerate(pq.read_table(path, columns=["text"]).column("text").to_pylist()):
            if text:
                keys.append((str(path), row))
                texts.append(text)
    docs = make_tokenizer("gpt2").encode_batch(texts)
    tokens = np.concatenate(docs).astype(np.uint64)
    doc_of = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    starts = np.concatenate([[0], np.cumsum([len(d) for d in docs])])
    ends = starts[1:][doc_of]  # per position: where its document ends
    usable = np.flatnonzero(np.arange(len(tokens)) + length <= ends)  # windows inside one document
    weights = np.random.default_rng(0).integers(1, 2**63, size=length, dtype=np.uint64) | np.uint64(1)
    hashes = np.zeros(len(usable), dtype=np.uint64)
    for j in range(length):
        hashes += tokens[usable + j] * weights[j]
    order = np.lexsort((doc_of[usable], hashes))
    h, d = hashes[order], doc_of[usable][order]
    first_of_pair = np.concatenate([[True], (h[1:] != h[:-1]) | (d[1:] != d[:-1])])
    distinct_h, pairs = np.unique(h[first_of_pair], return_counts=True)
    duplicated = set(distinct_h[pairs >= min_docs].tolist())
    hit = usable[np.isin(hashes, np.fromiter(duplicated, dtype=np.uint64, count=len(duplicated)))]
    depth = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.add.at(depth, hit, 1)
    np.add.at(depth, hit + length, -1)
    covered = np.cumsum(depth[:-1]) > 0
    gapped = np.zeros(len(tokens) + len(docs), dtype=np.int8)  # an uncovered slot after each document
    gapped[np.arange(len(tokens)) + doc_of] = covered
    gapped_starts = starts + np.arange(len(starts))
    found: dict[tuple[str, int], list[tuple[int, int]]] = {}
    edges = np.flatnonzero(np.diff(np.concatenate([[0], gapped, [0]])))
    for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist()):
        doc = int(np.searchsorted(gapped_starts, a, side="right")) - 1
        found.setdefault(keys[doc], []).append((a - int(gapped_starts[doc]), b - int(gapped_starts[doc])))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("index")
    parser.add_argument("--min-len", type=int, default=50)
    parser.add_argument("--min-docs", type=int, default=2)
    args = parser.parse_args()
    from inspector import duplicated_documents, open_index

    started = time.perf_counter()
    expected = reference_spans(args.corpus, args.min_len, args.min_docs)
    hashed = time.perf_counter() - started
    started = time.perf_counter()
    with open_index(args.index) as index:
        answered = {(str(Path(f.file).resolve()), f.row): list(f.spans)
                    for f in duplicated_documents(index, args.min_len, args.min_docs)}
        shards = len(index.engine.shards)
    indexed = time.perf_counter() - started
    places = sum(map(len, expected.values()))
    print(f"hash of every {args.min_len}-token window: {places:,} spans in {len(expected):,} documents "
          f"({hashed:.1f} s); the index ({shards} shard(s)): {sum(map(len, answered.values())):,} spans in "
          f"{len(answered):,} documents ({indexed:.1f} s)")
    if answered != expected:
        differ = sorted(k for k in expected.keys() | answered.keys() if expected.get(k) != answered.get(k))
        sys.exit(f"DIFFERENT in {len(differ):,} documents: " + "; ".join(
            f"{k}: hash {expected.get(k, [])[:3]}, index {answered.get(k, [])[:3]}" for k in differ[:3]))
    print("same set")


if __name__ == "__main__":
    main()
