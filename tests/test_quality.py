"""Heuristic quality signals (issue 10): each signal against values computed by hand, each rule's boundary, the
reason names, the score, and the catalog columns of a real build."""
from __future__ import annotations

import math
import random

import pytest

from inspector import build_index, open_index
from inspector.quality import COLUMNS, REASONS, RULES, signals, signals_batch
from inspector.quality_values import SIGNALS

from .corpora import write_parquet

GOOD = (
    "The committee met on Tuesday to review the budget for next year.\n"
    "Several members argued that the museum should have longer opening hours.\n"
    "Others replied with concerns about the cost of extra staff and heating.\n"
    "After a long debate, they agreed to run a trial during the summer months.\n"
    "A final report will be published in the autumn, with figures on visitors.\n"
    "Local schools were invited to send classes free of charge during the trial.\n"
)


def test_gopher_quality_values_by_hand():
    s = signals("The cat and the dog.\n- item one\n# head ...\n")
    # words: The cat and the dog. - item one # head ...  (11); with a letter or digit: 8, of 27 characters
    assert s["q_words"] == 8
    assert s["q_mean_word_length"] == pytest.approx(27 / 8)
    assert s["q_hash_ratio"] == pytest.approx(1 / 11)
    assert s["q_ellipsis_ratio"] == pytest.approx(1 / 11)
    assert s["q_bullet_lines"] == pytest.approx(1 / 3)
    assert s["q_ellipsis_lines"] == pytest.approx(1 / 3)
    assert s["q_alpha_words"] == pytest.approx(8 / 11)
    assert s["q_stop_words"] == 2  # "and", "the"; "The" does not count (case-sensitive, as datatrove)
    assert s["gopher_short_doc"] and s["gopher_too_many_end_ellipsis"] and s["gopher_below_alpha_threshold"]
    assert not s["gopher_too_many_hashes"] and not s["gopher_enough_stop_words"] and not s["gopher_too_many_bullets"]
    assert s["heuristic_fail"] == "gopher_short_doc"


def test_repetition_and_fineweb_values_by_hand():
    text = "aa bb\naa bb\n\ncc dd"  # 18 characters, 6 words
    s = signals(text)
    assert s["q_dup_para_frac"] == 0 and s["q_dup_para_char_frac"] == 0  # "aa bb\naa bb", "cc dd"
    assert s["q_dup_line_frac"] == pytest.approx(1 / 3)  # lines aa bb, aa bb, cc dd
    assert s["q_dup_line_char_frac"] == pytest.approx(5 / 18)
    assert s["q_top_2_gram"] == pytest.approx(2 * 5 / 18)  # "aa bb" twice
    assert s["q_top_3_gram"] == pytest.approx(8 / 18)  # all once: the first, "aa bb aa"
    assert s["q_top_4_gram"] == pytest.approx(11 / 18)  # "aa bb aa bb"
    assert s["q_dup_5_gram"] == 0 and s["q_dup_10_gram"] == 0
    # FineWeb: lines aa bb, aa bb, "", cc dd
    assert s["q_line_punct_ratio"] == 0 and s["q_short_line_ratio"] == 1
    assert s["q_char_dup_ratio"] == pytest.approx(5 / 15)  # 18 characters less 3 newlines
    assert s["q_newline_ratio"] == pytest.approx(3 / 6)
    assert s["dup_line_frac"] and s["dup_line_char_frac"] and s["top_2_gram"] and not s["dup_para_frac"]
    assert s["line_punct_ratio"] and s["short_line_ratio"] and s["char_dup_ratio"] and s["list_ratio"]


def test_duplicated_n_grams_by_hand():
    s = signals("a b c d e a b c d e")  # 19 characters; the 5-gram at word 5 repeats word 0's: 5 characters
    assert s["q_dup_5_gram"] == pytest.approx(5 / 19)
    assert s["q_dup_6_gram"] == 0
    assert s["duplicated_5_n_grams"] and not s["duplicated_6_n_grams"]
    # overlapping repeats count each word once: 5-grams at words 1 and 2 repeat word 0's, covering words 1..6
    assert signals("a a a a a a a")["q_dup_5_gram"] == pytest.approx(6 / 13)


def test_c4_values_by_hand():
    text = ("This is one. This is two.\nShort.\nNo punctuation here\nIt uses javascript here.\n"
            "A third line here!\n")
    s = signals(text)
    assert s["q_c4_sentences"] == 3  # two in the first line, one in the last; the others are dropped
    assert s["q_c4_lines_kept"] == pytest.approx(2 / 5)
    assert s["too_few_sentences"] and not s["curly_bracket"] and not s["lorem_ipsum"]
    five = "\n".join(f"Sentence number {n} is here." for n in range(5))
    assert not signals(five)["too_few_sentences"] and signals(five)["q_c4_sentences"] == 5
    assert signals(five + "\nSet x to {1, 2} now.")["curly_bracket"]
    assert not signals(five + "\nSet x to {1, 2}")["curly_bracket"]  # a dropped line cannot drop the page
    assert signals(five + "\nLorem ipsum dolor sit amet.")["lorem_ipsum"]
    assert signals("Lorem ipsum dolor sit amet.")["heuristic_fail"] == "gopher_short_doc"


@pytest.mark.parametrize(
    "text,reason,fails",
    [
        ("word " * 49, "gopher_short_doc", True),
        ("word " * 50, "gopher_short_doc", False),
        ("ab " * 60, "gopher_below_avg_threshold", True),  # mean 2
        ("abc " * 60, "gopher_below_avg_threshold", False),  # mean 3
        ("abcdefghij " * 60, "gopher_above_avg_threshold", False),  # mean 10
        ("abcdefghijk " * 60, "gopher_above_avg_threshold", True),  # mean 11
        ("word " * 90 + "#" * 9, "gopher_too_many_hashes", False),  # 9 / 91 words
        ("word " * 90 + "#" * 10, "gopher_too_many_hashes", True),  # 10 / 91 > 0.1
        ("the " + "word " * 60, "gopher_enough_stop_words", True),
        ("the of " + "word " * 60, "gopher_enough_stop_words", False),
        ("\n".join(["- item"] * 9 + ["x"]), "gopher_too_many_bullets", False),  # 0.9 is not above 0.9
        ("\n".join(["- item"] * 10), "gopher_too_many_bullets", True),
        ("\n".join(["x..."] * 3 + ["y"] * 7), "gopher_too_many_end_ellipsis", False),  # 0.3
        ("\n".join(["x..."] * 4 + ["y"] * 6), "gopher_too_many_end_ellipsis", True),
        ("word " * 4 + "1 2", "gopher_below_alpha_threshold", True),  # 4 / 6
        ("word " * 8 + "1 2", "gopher_below_alpha_threshold", False),  # 8 / 10 = 0.8
        ("\n".join(["A line of more than thirty characters, ending."] + ["no stop"] * 7), "line_punct_ratio", False),
        ("\n".join(["A line of more than thirty characters, ending."] + ["no stop"] * 8), "line_punct_ratio", True),
        ("\n".join(["a" * 31] + ["short", "shorter"]), "short_line_ratio", False),  # 2 / 3 < 0.67
        ("\n".join(["a" * 31] + ["short", "shorter", "tiny"]), "short_line_ratio", True),  # 3 / 4
        ("one two three\nfour five six", "list_ratio", False),  # 1 / 6 newlines per word
        ("one\ntwo\nthree", "list_ratio", True),  # 2 / 3
    ],
)
def test_rule_boundaries(text, reason, fails):
    assert signals(text)[reason] is fails


def test_char_dup_ratio_boundary():
    distinct = [f"Line {n:03d} " + "z" * 88 for n in range(98)]  # 98 distinct lines of 97 characters
    at = signals("\n".join(distinct + ["y" * 97] * 2))  # 97 repeated characters of 9,700: 0.01
    assert at["q_char_dup_ratio"] == pytest.approx(0.01) and at["char_dup_ratio"]
    below = signals("\n".join(distinct + ["y" * 96] * 2))  # 96 of 9,698
    assert below["q_char_dup_ratio"] == pytest.approx(96 / 9698) and not below["char_dup_ratio"]


def test_reason_names_and_columns():
    assert REASONS == (
        "gopher_short_doc", "gopher_long_doc", "gopher_below_avg_threshold", "gopher_above_avg_threshold",
        "gopher_too_many_hashes", "gopher_too_many_ellipsis", "gopher_too_many_bullets",
        "gopher_too_many_end_ellipsis", "gopher_below_alpha_threshold", "gopher_enough_stop_words",
        "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
        "top_2_gram", "top_3_gram", "top_4_gram", *(f"duplicated_{n}_n_grams" for n in range(5, 11)),
        "lorem_ipsum", "curly_bracket", "too_few_sentences",
        "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio",
    )
    assert [r.threshold for r in RULES if r.reason.startswith("duplicated_")] == [0.15, 0.14, 0.13, 0.12, 0.11, 0.10]
    assert set(signals(GOOD)) == set(COLUMNS) and all(c.startswith("q_") for c in SIGNALS)


def test_heuristic_score():
    good = signals(GOOD)
    assert [r for r in REASONS if good[r]] == [] and good["heuristic_score"] == 1.0 and good["heuristic_fail"] == ""
    bad = signals("aa bb\naa bb\n\ncc dd")
    failed = sum(bad[r] for r in REASONS)
    # short doc, mean length 2, no stop words; dup lines and their characters, top 2/3/4-grams; no sentences;
    # all four FineWeb rules (values in test_repetition_and_fineweb_values_by_hand)
    assert failed == 13
    assert len(RULES) == 10 + 13 + 3 + 4  # Gopher quality, Gopher repetition, C4 (no bad words), FineWeb
    assert bad["heuristic_score"] == round(1 - 13 / 30, 4) == 0.5667
    for text in ("", " ", "x", GOOD * 3, "{" * 100):
        score = signals(text)["heuristic_score"]
        assert 0.0 <= score <= 1.0 and not math.isnan(score)


#: pieces the random texts are made of: every character class and phrase a rule looks at, each kind of white space
#: and line break str.split / str.splitlines know, repeats (for the n-gram and duplicate rules)
PIECES = ["the", "of", "and", "with", "a", "b", "x", "Lorem ipsum", "lorem İpsum", "javascript", "JavaScrİpt", "{", "}",
          "#", "...", "…", "•", "-", "[1]", "[edit]", "[citation needed]", "İ", "é", "東京", "12", "3.", "!", "?", "'",
          '"', ".", "ß",
          "privacy policy", "Cookie Policy", "!?", "xxxxx", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\xa0",
          "\u3000", "\x1f", "\r\n", "\r", "\u2028", "\x0c", "\x85"]


def random_text(rng: random.Random) -> str:
    text = "".join(rng.choice(PIECES) + rng.choice([" ", "", "\n", ". "])
                   for _ in range(rng.choice([0, 1, 2, 4, 10, 40, 200])))
    if rng.random() < 0.05:
        text = "y" * rng.choice([1000, 1001]) + " a b c."  # C4's longest word, either side of the limit
    return text + rng.choice(["", "", "\n", " "])


@pytest.mark.parametrize("seed", range(6))
def test_batch_equals_text_by_text(seed):
    """The build's vectorised batch (inspector.quality_batch) gives every column exactly as the per-text
    definition (`signals`), on random batches mixing every kind of text, empty and white-space-only ones too."""
    rng = random.Random(seed)
    for _ in range(40):
        texts = [random_text(rng) for _ in range(rng.randint(0, 16))]
        if seed % 2:  # half the batches without the line breaks that send a text the per-text way
            texts = [t.replace("\r", "").replace("\u2028", "").replace("\x0c", "").replace("\x85", "") for t in texts]
        batch = signals_batch(texts)
        for i, text in enumerate(texts):
            expected = signals(text)
            got = {name: batch[name][i] for name in COLUMNS}
            assert got == expected, (text, {k: (got[k], v) for k, v in expected.items() if got[k] != v})


def test_catalog_columns_equal_signals(tmp_path):
    rows = [
        {"id": "a", "text": GOOD, "heuristic_score": 7},  # a metadata column named like a signal column
        {"id": "b", "text": "aa bb\naa bb\n\ncc dd", "heuristic_score": 8},
        {"id": "c", "text": "The cat and the dog.\n- item one\n# head ...\n", "heuristic_score": 9},
        {"id": "d", "text": "a b c d e a b c d e", "heuristic_score": 10},
    ]
    write_parquet(tmp_path / "c" / "part.parquet", rows)
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes", signals=True)
    with open_index(tmp_path / "idx") as index:
        catalog = index.catalog
        names = ", ".join(f'"{c}"' for c in COLUMNS)
        got = catalog.cursor().execute(f"SELECT {names}, meta_heuristic_score FROM documents ORDER BY doc").fetchall()
        for row, source in zip(got, rows):
            expected = signals(source["text"])
            for name, value in zip(COLUMNS, row):
                assert value == pytest.approx(expected[name]) if isinstance(value, float) else value == expected[name]
            assert row[-1] == source["heuristic_score"]  # the metadata kept under meta_<name>
        assert catalog.types["gopher_short_doc"] == "BOOLEAN" and catalog.types["heuristic_fail"] == "VARCHAR"
        stats = index.stats()
        assert "heuristic_score" in stats.distributions and "gopher_short_doc" not in stats.distributions
    build_index([tmp_path / "c"], tmp_path / "plain", tokenizer="bytes", signals=False)
    with open_index(tmp_path / "plain") as index:
        assert "q_words" not in index.catalog.types and index.catalog.types["heuristic_score"] == "BIGINT"


@pytest.mark.slow
def test_signals_of_a_build_in_parts_are_those_of_each_text(tmp_path, monkeypatch):
    """Parts compute their documents' signals in worker processes; the catalog holds them in document order, each
    row that of its own text (`signals`, the per-text reference)."""
    import inspector.build

    monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)  # parts in worker processes even for a small corpus
    texts = [GOOD, "", "aa bb\naa bb\n\ncc dd", "東京 " * 30, "x"] * 7
    for k in range(2):
        write_parquet(tmp_path / "c" / f"part-{k}.parquet", [{"text": t} for t in texts[k:]], row_group_size=3)
    report = build_index([tmp_path / "c"], tmp_path / "idx", workers=2)
    assert report.parts == 4
    kept = [t for k in range(2) for t in texts[k:] if t]
    with open_index(tmp_path / "idx") as index:
        names = ", ".join(f'"{c}"' for c in COLUMNS)
        rows = index.catalog.cursor().execute(f"SELECT {names} FROM documents ORDER BY doc").fetchall()
    assert rows == [tuple(signals(t)[c] for c in COLUMNS) for t in kept]
