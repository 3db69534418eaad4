"""The compiled batch search (`index.search_kernels`) against NumPy's lock-step search it replaced, kept as the
reference, and both against brute force over id lists: random small corpora over tiny alphabets (many ties), the
largest ids of each width, documents repeated, queries of every length up to past a word, present and absent."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.suffix_array import Shard, ShardWriter, build_suffix_array, finish_shard, separator

from . import reference as ref
from .profiles import examples

VOCABULARIES = [(1, 3), (1, separator(1) - 1), (2, 3), (2, separator(2) - 1), (4, 2), (4, 70_000)]


@settings(max_examples=examples(80), deadline=None)
@given(st.sampled_from(VOCABULARIES), st.data())
def test_the_compiled_search_is_the_numpy_search(tmp_path_factory, vocabulary, data):
    width, alphabet = vocabulary
    ids = st.integers(0, alphabet - 1) if alphabet <= 3 else st.sampled_from([0, 1, alphabet - 1])
    docs = data.draw(st.lists(st.lists(ids, min_size=1, max_size=30), min_size=1, max_size=12))
    docs += docs[: data.draw(st.integers(0, len(docs)))]
    folder = tmp_path_factory.mktemp("shard") / "s"
    writer = ShardWriter(folder, width)
    writer.add([np.array(d, dtype=np.int64) for d in docs])
    writer.close()
    build_suffix_array(folder, width, writer.n_tokens, len(docs))
    finish_shard(folder, width, writer.n_tokens, alphabet)
    shard = Shard(folder, width, writer.n_tokens, alphabet)
    flat = [t for d in docs for t in d]
    n = data.draw(st.integers(1, 12))
    rows = []
    for _ in range(data.draw(st.integers(1, 60))):
        if data.draw(st.booleans()) and len(flat) > n:  # a piece of the corpus (may cross a document end)
            start = data.draw(st.integers(0, len(flat) - n))
            rows.append(flat[start : start + n])
        else:
            rows.append(data.draw(st.lists(ids, min_size=n, max_size=n)))
    queries = np.array(rows, dtype=np.int64)
    lengths = np.array([data.draw(st.integers(1, n)) for _ in rows], dtype=np.int64)
    compiled = shard.find_ranges(queries, lengths, compiled=True)
    numpy = shard.find_ranges(queries, lengths, compiled=False)
    assert compiled[0].tolist() == numpy[0].tolist() and compiled[1].tolist() == numpy[1].tolist()
    assert (compiled[1] - compiled[0]).tolist() == [ref.count(docs, r[:k]) for r, k in zip(rows, lengths.tolist())]
    found = shard.occurrences_many(queries, lengths, compiled=True)
    assert found.tolist() == shard.occurrences_many(queries, lengths, compiled=False).tolist()
    assert ((found >= 0) == (compiled[1] > compiled[0])).all()
