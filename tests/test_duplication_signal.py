"""`q_dup_span_frac` in the catalog (`inspector.duplication_signal`, `inspector repeats --signal`): each document's
share of tokens inside duplicated spans against brute force over the Parquet text, one shard and many; kept current
by an append, kept by a compaction, usable by Sample; refused over an index that changed meanwhile.

The reference is `tests/reference.py`'s windows counted over the Parquet rows encoded with the tokenizer."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.errors import InspectorError
from inspector import add_duplication_signal, build_index, compact, open_index, sample
from inspector.cli import main

from . import reference as ref
from .corpora import write_parquet
from .profiles import examples

CHARS = "ab é\U00100000"
LEAN = dict(tokenizer="bytes", fulltext=False, normalized=False, signals=False)


def shares(path: Path) -> list[float]:
    """The catalog's q_dup_span_frac of the live build in `path`, in document order (every document has one)."""
    with open_index(path) as index:
        assert "q_dup_span_frac" in index.catalog.signal_columns()
        values = index.catalog.values("q_dup_span_frac").tolist()
        assert len(values) == index.n_documents
        return values


def expected(docs: list[list[int]], length: int, min_docs: int) -> list[float]:
    covered, _ = ref.repeated_spans(docs, length, min_docs)
    return [sum(marks) / max(len(marks), 1) for marks in covered]


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(texts=["ab\U00100000", "b\U00100000", "\U00100000"], shard_tokens=5, length=2, min_docs=2)
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12),
       length=st.integers(1, 6), min_docs=st.integers(2, 3))
def test_the_signal_in_the_catalog_matches_brute_force(texts, shard_tokens, length, min_docs):
    with ref.built(texts, "bytes", shard_tokens) as made:
        for index in made.indexes:
            added = add_duplication_signal(index, length, min_docs)
            assert (added.min_len, added.min_docs, added.documents) == (length, min_docs, len(made.docs))
            assert shares(index.path) == pytest.approx(expected(made.docs, length, min_docs))


def test_an_append_computes_it_again_with_its_parameters_and_a_compaction_keeps_it(tmp_path):
    """A document unique before the append shares a paragraph with an appended one: its share rises from 0."""
    paragraph = "a paragraph that only the appended file repeats"
    first = [f"opening {paragraph}", "something else entirely", "and a third, alone"]
    write_parquet(tmp_path / "a" / "a.parquet", [{"text": t} for t in first])
    write_parquet(tmp_path / "b" / "b.parquet", [{"text": f"{paragraph} again"}, {"text": "new and alone"}])
    out = tmp_path / "index"
    build_index([tmp_path / "a"], out, shard_tokens=40, **LEAN)
    with open_index(out) as index:
        add_duplication_signal(index, 12, 2)
    assert shares(out) == [0.0, 0.0, 0.0]
    build_index([tmp_path / "b"], out, append=True, shard_tokens=40, **LEAN)
    docs = ref.encode_all([*first, f"{paragraph} again", "new and alone"], ref.reference_tokenizer("bytes"))
    after = expected(docs, 12, 2)
    assert after[0] > 0 and after[3] > 0  # the reference sees the new duplicate
    assert shares(out) == pytest.approx(after)
    with open_index(out) as index:
        assert len(index.engine.shards) > 1
    assert compact(out, shard_tokens=1 << 20).shards_after == 1
    assert shares(out) == pytest.approx(after)  # the same documents: the same values


def test_a_handle_on_an_older_build_is_refused(tmp_path):
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "the same words"}, {"text": "the same words"}])
    build_index([tmp_path / "c"], tmp_path / "i", **LEAN)
    with open_index(tmp_path / "i") as old:
        add_duplication_signal(old, 3, 2)  # a new build is live now; `old` still reads the one before
        with pytest.raises(InspectorError, match="changed while q_dup_span_frac was computed"):
            add_duplication_signal(old, 3, 2)
    assert shares(tmp_path / "i") == [1.0, 1.0]


def test_a_failed_write_is_one_line_and_the_index_is_kept(tmp_path, monkeypatch):
    import inspector.duplication_signal as signal

    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "the same words"}, {"text": "the same words"}])
    build_index([tmp_path / "c"], tmp_path / "i", **LEAN)

    def full(table, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(signal, "write_table", full)
    with open_index(tmp_path / "i") as index, pytest.raises(InspectorError) as failed:
        add_duplication_signal(index, 3, 2)
    assert "No space left on device; the index in" in str(failed.value) and "is kept" in str(failed.value)
    with open_index(tmp_path / "i") as index:
        assert "q_dup_span_frac" not in index.catalog.types and index.count("same").count == 2
    assert [p.name for p in (tmp_path / "i").iterdir() if p.name.startswith(".tmp")] == []


def test_the_corpus_own_column_of_that_name_is_kept_and_sample_stratifies_by_the_signal(tmp_path):
    rows = [{"text": f"shared boilerplate line {'x' * (i % 2)} doc {i}" if i % 3 else f"unique text {i}",
             "Q_DUP_SPAN_FRAC": float(i)} for i in range(12)]
    write_parquet(tmp_path / "c" / "a.parquet", rows)
    build_index([tmp_path / "c"], tmp_path / "i", **{**LEAN, "signals": True})
    with open_index(tmp_path / "i") as index:
        add_duplication_signal(index, 10, 2)
    with open_index(tmp_path / "i") as index:
        assert index.catalog.values("meta_Q_DUP_SPAN_FRAC").tolist() == [float(i) for i in range(12)]
        drawn = sample(index, "q_dup_span_frac", bins=2, per_bin=20, where="q_dup_span_frac > 0")
        values = dict(zip(range(12), index.catalog.values("q_dup_span_frac").tolist()))
    assert {d.doc for d in drawn.documents} == {doc for doc, v in values.items() if v > 0} != set()


def test_repeats_signal_from_the_command_line(tmp_path):
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "one shared sentence here"}, {"text": "shared sentence"}])
    build_index([tmp_path / "c"], tmp_path / "i", **LEAN)
    out = CliRunner().invoke(main, ["repeats", str(tmp_path / "i"), "--min-len", "5", "--signal"])
    assert out.exit_code == 0, out.output
    assert "q_dup_span_frac added to the catalog of" in out.stderr and "(2 of 2 documents above 0)" in out.stderr
    assert "duplicated windows" in out.stderr  # progress, counted in the tokens walked
    docs = ref.encode_all(["one shared sentence here", "shared sentence"], ref.reference_tokenizer("bytes"))
    assert shares(tmp_path / "i") == pytest.approx(expected(docs, 5, 2))


# -- Search filters on it (through the catalog) -------------------------------------------------------------------

BOILER = "Subscribe to our newsletter for the latest updates and offers."
STORIES = [f"Story {i} about the {'river' if i % 2 else 'mountain'}. {BOILER * (i % 3)}" for i in range(20)]


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    """An index with full text and the signal, and the brute-force shares of its documents."""
    folder = tmp_path_factory.mktemp("signal-search")
    write_parquet(folder / "c" / "a.parquet", [{"text": t, "kind": "odd" if i % 2 else "even"}
                                               for i, t in enumerate(STORIES)])
    build_index([folder / "c"], folder / "i", tokenizer="gpt2", normalized=False)
    with open_index(folder / "i") as index:
        add_duplication_signal(index, 8, 2)
    docs = ref.encode_all(STORIES, ref.reference_tokenizer("gpt2"))
    return folder / "i", expected(docs, 8, 2)


@pytest.mark.parametrize("where, keep", [
    ("q_dup_span_frac > 0", lambda v, i: v > 0),  # most documents: the others are the term set, excluded
    ("q_dup_span_frac >= 0.5", lambda v, i: v >= 0.5),
    ("q_dup_span_frac = 0", lambda v, i: v == 0),  # a third: the term set itself
    ("q_dup_span_frac != 0 AND kind = odd", lambda v, i: v != 0 and i % 2),  # with a full-text field's filter
    ("q_dup_span_frac > 1", lambda v, i: False),
])
def test_search_filters_on_the_signal_as_the_brute_force_shares_say(searchable, where, keep):
    path, shares_expected = searchable
    with open_index(path) as index:
        assert index.filter_columns()["q_dup_span_frac"] == "float"
        assert "q_dup_span_frac" not in index.sort_columns()
        found = index.search("", where=where, limit=100)
        story = index.search("river", where=where, limit=100)
    wanted = {i for i, v in enumerate(shares_expected) if keep(v, i)}
    assert found.total == len(wanted) and {h.doc for h in found.hits} == wanted
    assert {h.doc for h in story.hits} == {i for i in wanted if i % 2}  # the river stories among them


def test_the_search_page_filters_on_the_signal_from_its_url(searchable, monkeypatch):
    from .pages import no_trouble, open_page

    path, shares_expected = searchable
    at = open_page(path, monkeypatch, "search", f_q_dup_span_frac="0.5..")
    no_trouble(at)
    assert at.metric[0].value == f"{sum(v >= 0.5 for v in shares_expected):,}"
    assert "q_dup_span_frac" not in str(at.selectbox(key="search_sort").options)
