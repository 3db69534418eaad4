"""Query syntax and limits: CNF parsing, --where parsing, word-boundary variants, bounded work."""
from __future__ import annotations

import pytest

from inspector import InvalidQuery
from inspector.query import parse_cnf, parse_ids, parse_where, token_variants
from inspector.settings import DEFAULT
from inspector.tokenizer import make_tokenizer


@pytest.mark.parametrize(
    "query,clauses",
    [
        ("deep learning AND (GPU OR TPU)", [["deep learning"], ["GPU", "TPU"]]),
        ('("a b") AND ("c" OR d e)', [["a b"], ["c", "d e"]]),
        ("a OR b AND c", [["a", "b"], ["c"]]),
        ('"x AND y"', [["x AND y"]]),
        ("  spaced   words  ", [["spaced words"]]),
    ],
)
def test_cnf_parses(query, clauses):
    assert parse_cnf(query, DEFAULT) == clauses


@pytest.mark.parametrize(
    "query,message",
    [
        ("a AND", "ends with AND or OR"),
        ("a OR", "ends with AND or OR"),
        ("OR a", "column 1: expected a term before 'OR'"),
        ("(a OR b) c", "column 10: expected AND after ')'"),
        ("a AND (b", "never closed"),
        ("a )", "column 3: ')' without '('"),
        ("((a))", "column 2: parentheses group one whole clause"),
        ('"open', "column 1: unbalanced double quote"),
        ("(a AND b)", "AND inside parentheses"),
        ("", "empty query"),
        (" AND ".join("x" * 9), "9 AND clauses; the limit is 8"),
        (" OR ".join(["t"] * 17), "17 OR terms; the limit is 16"),
    ],
)
def test_cnf_errors_say_where(query, message):
    with pytest.raises(InvalidQuery, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_cnf(query, DEFAULT)


def test_where_values_are_literals():
    assert parse_where("quality >= 0.5 AND source = 'web'") == [("quality", ">=", "0.5"), ("source", "=", "web")]
    assert parse_where("source = \"' OR 1=1--\"") == [("source", "=", "' OR 1=1--")]
    with pytest.raises(InvalidQuery, match="expected AND|cannot read"):
        parse_where("a = 1 b = 2")


def test_word_boundary_variants():
    gpt2 = make_tokenizer("gpt2")
    spaced, bare = token_variants(gpt2, DEFAULT, "language model", None)
    assert gpt2.decode(spaced) == " language model" and gpt2.decode(bare) == "language model"
    assert len(token_variants(gpt2, DEFAULT, " language", None)) == 1  # already spaced: as typed
    assert len(token_variants(gpt2, DEFAULT, "(language", None)) == 1  # not a word start
    assert len(token_variants(gpt2, DEFAULT, "language", None, boundary="exact")) == 1
    assert len(token_variants(make_tokenizer("bytes"), DEFAULT, "language", None)) == 1  # substrings: no trap
    with pytest.raises(InvalidQuery, match="boundary must be one of word, exact"):
        token_variants(gpt2, DEFAULT, "x", None, boundary="fuzzy")


def test_limits_bound_the_work(index):
    with pytest.raises(InvalidQuery, match="query has 1001 tokens; the limit is 1000"):
        index.count(ids=[1] * 1001)
    with pytest.raises(InvalidQuery, match="the ∞-gram limit is 4096"):
        index.infgram(ids=[1] * 4097)
    with pytest.raises(InvalidQuery, match="--ids item 2"):
        parse_ids("1, x")
    with pytest.raises(InvalidQuery, match="2-D array"):
        index.count_many([1, 2, 3])


def test_frequent_clause_is_sampled_and_flagged(index_dir):
    from inspector import Settings, open_index

    small = open_index(index_dir, settings=Settings(max_clause_freq=3))
    exact = open_index(index_dir).find("data", limit=1000)
    sampled = small.find("data", limit=1000)
    assert not exact.approx and sampled.approx
    assert 0 < sampled.count <= exact.count
    assert {h.doc for h in sampled.documents} <= {h.doc for h in exact.documents}
