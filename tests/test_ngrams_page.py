"""The N-grams page through Streamlit's AppTest, on the shared sample corpus plus one multi-line document: what the
page shows equals the Python API's answer, every setting round-trips through the URL, bad URLs are one error."""
from __future__ import annotations

import csv
import io
import json
import re
import shlex

import pytest
from click.testing import CliRunner

from inspector import Settings
from inspector.cli import main as cli
from pages._ngram_view import MODES, NgramView, answer_json, cli_command, export, python_call, rows_csv

from .corpora import PASSAGE
from .pages import dataframe, no_trouble, open_page


def ngrams(poem_index_dir, monkeypatch, **params):
    return open_page(poem_index_dir, monkeypatch, "ngrams", **params)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_multi_line_passage_counts_as_pasted(poem_index_dir, poem_index, monkeypatch):
    assert poem_index.count(PASSAGE).count >= 1 and poem_index.count(PASSAGE.replace("\n", " ")).count == 0
    at = ngrams(poem_index_dir, monkeypatch)
    at.text_area(key="ngram_query").input(PASSAGE).run()
    no_trouble(at)
    assert metrics(at)["Occurrences"] == f"{poem_index.count(PASSAGE).count:,}"
    assert at.query_params["q"] == PASSAGE


URLS = [
    {"mode": "Documents", "q": "data model", "boundary": "exact", "page": "2", "order": "random", "seed": "7"},
    {"mode": "Next token", "q": "1366, 2746", "ids": "1", "top": "7", "backoff": "0"},
    {"mode": "N-gram probability", "q": "data", "next": "model", "boundary": "exact"},
    {"mode": "∞-gram", "q": "data model token"},
    {"mode": "Count", "q": "quality score"},
]
SHOWN = {"mode": "ngram_mode", "q": "ngram_query", "next": "ngram_next", "boundary": "ngram_boundary",
         "ids": "ngram_ids", "top": "ngram_top", "backoff": "ngram_backoff", "page": "ngram_page",
         "order": "ngram_order", "seed": "ngram_seed"}


@pytest.mark.parametrize("params", URLS, ids=[p["mode"] for p in URLS])
def test_every_setting_comes_from_the_url_and_stays_in_it(poem_index_dir, monkeypatch, params):
    at = ngrams(poem_index_dir, monkeypatch, **params)
    no_trouble(at)
    view = NgramView.from_params(params, Settings())
    widgets = {"ngram_mode": at.segmented_control, "ngram_query": at.text_area, "ngram_boundary": at.radio,
               "ngram_ids": at.toggle, "ngram_top": at.number_input, "ngram_page": at.number_input,
               "ngram_order": at.radio, "ngram_seed": at.number_input, "ngram_next": at.text_input,
               "ngram_backoff": at.toggle}
    for name, key in SHOWN.items():
        if any(w.key == key for w in widgets[key]):  # every widget the mode shows holds the URL's value
            assert widgets[key](key=key).value == getattr(view, name), name
    assert dict(at.query_params) == view.params()  # nothing rewritten on arrival


def test_changed_settings_are_written_to_the_url(poem_index_dir, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="Documents", q="data")
    at.radio(key="ngram_boundary").set_value("exact").run()
    at.radio(key="ngram_order").set_value("random").run()
    at.number_input(key="ngram_seed").set_value(42).run()
    at.number_input(key="ngram_page").set_value(3).run()
    no_trouble(at)
    assert dict(at.query_params) == {
        "mode": "Documents", "q": "data", "boundary": "exact", "order": "random", "seed": "42", "page": "3"}
    at.segmented_control(key="ngram_mode").set_value("Next token").run()
    at.number_input(key="ngram_top").set_value(9).run()
    at.toggle(key="ngram_ids").set_value(True).run()
    assert at.query_params["top"] == "9" and at.query_params["ids"] == "1" and at.query_params["mode"] == "Next token"


def test_a_new_query_starts_at_page_one(poem_index_dir, poem_index, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="Documents", q="data", page="3")
    assert at.number_input(key="ngram_page").value == 3
    at.text_area(key="ngram_query").input("model").run()
    no_trouble(at)
    assert at.number_input(key="ngram_page").value == 1 and "page" not in at.query_params
    first = poem_index.find("model", limit=10).documents[0]
    assert any(f"doc {first.doc} " in link.proto.label for link in at.get("page_link"))


def test_a_page_past_the_end_says_so(poem_index_dir, poem_index, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="Documents", q="purple elephant", page="50")
    no_trouble(at)
    assert poem_index.find("purple elephant").count == 1
    assert "Page 50 is past the end" in at.warning[0].value and "1 page(s)" in at.warning[0].value


@pytest.mark.parametrize("params, names", [
    ({"mode": "Bogus"}, "mode must be one of Count, N-gram probability"),
    ({"mode": "Documents", "q": "data", "page": "abc"}, "page must be a whole number"),
    ({"top": "9999"}, "top (next tokens to show) must be from 5 to 500"),
    ({"ids": "2"}, "ids (1: the query is token ids) must be from 0 to 1"),
    ({"boundary": "loose"}, "boundary must be one of word, exact"),
    ({"order": "shuffled"}, "order must be one of corpus, random"),
    ({"seed": "-1"}, "seed must be from 0"),
    ({"backoff": "yes"}, "backoff (1: ∞-gram back-off) must be a whole number"),
    ({"q": "a\x00b"}, "q (the query) contains a NUL"),
    ({"q": "x" * 5000}, "the query has 5,000 characters; the limit is 4,000"),
])
def test_a_bad_url_value_is_one_error_naming_it(poem_index_dir, monkeypatch, params, names):
    at = ngrams(poem_index_dir, monkeypatch, **params)
    assert not at.exception and len(at.error) == 1
    assert names in at.error[0].value.replace("\\", ""), at.error[0].value


def test_an_empty_query_says_what_it_means(poem_index_dir, poem_index, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="Count")
    no_trouble(at)
    assert metrics(at) == {"Tokens in the corpus (empty query)": f"{poem_index.n_tokens:,}"}
    said = f"Empty query: every token of the corpus — {poem_index.n_tokens:,} tokens"
    assert any(said in c.value for c in at.caption)
    assert "natural language" not in at.text_area(key="ngram_query").placeholder
    at = ngrams(poem_index_dir, monkeypatch, mode="Next token")
    no_trouble(at)
    unigram = poem_index.ntd("", top=20)
    shown = dataframe(at, "prob")
    assert shown["id"].tolist() == [t.id for t in unigram.next_tokens]
    assert shown["count"].tolist() == [t.count for t in unigram.next_tokens]
    assert any("unigram distribution" in c.value for c in at.caption)


def test_numbers_are_grouped_ids_kept_apart_and_every_table_labelled(poem_index_dir, poem_index, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="Next token", q="data model")
    no_trouble(at)
    ntd = poem_index.ntd("data model")
    variants = dataframe(at, "ids")
    assert variants["ids"].tolist() == [", ".join(map(str, v.ids)) for v in ntd.variants]
    next_table = next(d for d in at.dataframe if "prob" in d.value.columns)
    config = json.loads(next_table.proto.columns)
    assert config["count"]["type_config"]["format"] == "%,d" and config["id"]["type_config"]["format"] == "%d"
    assert config["prob"]["type_config"]["format"] == "%.6f"
    labels = [c.value for c in at.caption]
    assert "Token sequences the prompt stands for" in labels and any(c.startswith("Next tokens,") for c in labels)
    assert any(re.fullmatch(r"answered in [\d,]+ ms", c) for c in labels)
    at = ngrams(poem_index_dir, monkeypatch, mode="Count", q="")
    assert metrics(at)["Tokens in the corpus (empty query)"] == f"{poem_index.n_tokens:,}" and poem_index.n_tokens > 999


@pytest.mark.smoke
def test_ngram_probability_mode_shows_the_api_answer(poem_index_dir, poem_index, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="N-gram probability", q="data")
    no_trouble(at)
    assert any("Type the next token" in i.value for i in at.info)
    at.text_input(key="ngram_next").input("model").run()
    no_trouble(at)
    p = poem_index.prob("data", "model")
    assert metrics(at) == {"P(next | query)": f"{p.prob:.6f}", "Count of query + next": f"{p.count:,}",
                           "Count of query": f"{p.prompt_count:,}"}
    assert at.query_params["next"] == "model"


def test_a_prompt_nothing_follows_backs_off_to_its_longest_suffix(poem_index_dir, poem_index, monkeypatch):
    prompt = "zebra crossing quality score"
    assert poem_index.ntd(prompt).prompt_count == 0
    answer = poem_index.infgram_ntd(prompt)
    suffix = answer.ntd.variants[0]
    assert answer.backed_off and 0 < answer.suffix_tokens < answer.prompt_tokens
    assert poem_index.ntd(ids=suffix.ids).next_tokens == answer.ntd.next_tokens  # the suffix's own distribution


@pytest.mark.parametrize("prompt", ["zebra crossing quality score", "qqqq zzzz", "umbrella.", "you.", "data"])
def test_backoff_uses_the_longest_suffix_some_token_follows(poem_index, prompt):
    seq = poem_index.ntd(prompt).variants[0].ids
    answer = poem_index.infgram_ntd(prompt)
    followed = [k for k in range(1, len(seq) + 1) if poem_index.ntd(ids=seq[len(seq) - k :]).distinct]
    assert answer.suffix_tokens == max(followed, default=0) and answer.prompt_tokens == len(seq)
    assert answer.backed_off == (answer.suffix_tokens < len(seq))
    if not answer.backed_off:  # the prompt's own answer, every variant of it
        assert answer.ntd == poem_index.ntd(prompt)
    else:
        k = answer.suffix_tokens
        assert answer.ntd == (poem_index.ntd(ids=seq[len(seq) - k :]) if k else poem_index.ntd(""))


def test_a_never_followed_prompt_on_the_page(poem_index_dir, poem_index, monkeypatch):
    prompt = "zebra crossing quality score"
    answer = poem_index.infgram_ntd(prompt)
    suffix = answer.ntd.variants[0]
    at = ngrams(poem_index_dir, monkeypatch, mode="Next token", q=prompt)
    no_trouble(at)
    assert "longest suffix" in at.warning[0].value and ", ".join(map(str, suffix.ids)) in at.warning[0].value
    assert metrics(at)["Prompt count"] == f"{suffix.count:,}"
    assert dataframe(at, "prob")["id"].tolist() == [t.id for t in answer.ntd.next_tokens]
    at.toggle(key="ngram_backoff").set_value(False).run()
    no_trouble(at)
    assert metrics(at)["Prompt count"] == "0" and not at.warning and at.query_params["backoff"] == "0"


def test_choosing_a_next_token_extends_the_prompt(poem_index_dir, poem_index, monkeypatch):
    at = ngrams(poem_index_dir, monkeypatch, mode="Next token", q="data")
    top = poem_index.ntd("data").next_tokens[0]
    at.pills(key="ngram_extend").set_value(0).run()
    no_trouble(at)
    assert at.text_area(key="ngram_query").value == "data" + top.token
    assert at.query_params["q"] == "data" + top.token
    assert metrics(at)["Prompt count"] == f"{poem_index.ntd('data' + top.token).prompt_count:,}"


def test_random_order_is_a_seeded_reproducible_sample(poem_index_dir, poem_index, monkeypatch):
    def first_page(**params):
        at = ngrams(poem_index_dir, monkeypatch, mode="Documents", q="data", **params)
        no_trouble(at)
        return [link.proto.label.split(" ")[1] for link in at.get("page_link") if link.proto.label.startswith("doc ")]

    corpus = first_page()
    seeded = first_page(order="random", seed="5")
    assert seeded == first_page(order="random", seed="5") != corpus
    assert seeded == [str(h.doc) for h in poem_index.find("data", order="random", seed=5).documents]
    assert (
        sorted(poem_index.matching_documents("data", order="random", seed=5)[0].tolist())
        == poem_index.matching_documents("data")[0].tolist()
    )


@pytest.mark.parametrize("view", [
    NgramView(mode="Count", q="-data model", boundary="exact"),
    NgramView(mode="N-gram probability", q="data", next="model"),
    NgramView(mode="Next token", q="data model", top=7, backoff=False),
    NgramView(mode="Next token", q="zebra crossing quality score", top=7),  # backs off to a suffix
    NgramView(mode="Documents", q="data", order="random", seed=3),
    NgramView(mode="∞-gram", q="it's data\nmodel"),
    NgramView(mode="Documents", q="data AND model", page=2),
    NgramView(mode="Count", q="1366, 2746", ids=True),
], ids=lambda v: v.mode)
def test_copy_as_cli_and_python_give_the_pages_answer(poem_index_dir, poem_index, view):
    args = shlex.split(cli_command(view, str(poem_index_dir)))
    assert args[0] == "inspector"
    done = CliRunner().invoke(cli, [args[1], "--json", *args[2:]])
    assert done.exit_code == 0, done.output
    scope = {}
    exec(python_call(view, str(poem_index_dir)), scope)  # noqa: S102  (our own generated code, repr-quoted values)
    assert json.loads(done.output) == json.loads(answer_json(scope["answer"]))


def test_exports_hold_the_whole_answer(poem_index, poem_index_dir):
    rows, whole = export(poem_index, NgramView(mode="Next token", q="data", top=5), Settings())
    everything = poem_index.ntd("data", top=0)
    assert len(rows) == everything.distinct > 5 and whole["ntd"]["distinct"] == everything.distinct
    table = list(csv.DictReader(io.StringIO(rows_csv(rows))))
    assert [int(r["id"]) for r in table] == [t.id for t in everything.next_tokens]
    rows, whole = export(poem_index, NgramView(mode="Documents", q="data", order="random", seed=3), Settings())
    docs = poem_index.matching_documents("data", order="random", seed=3)[0].tolist()
    assert [r["doc"] for r in rows] == docs and whole["count"] == len(docs) and not whole["capped"]
    assert rows[0]["id"] == poem_index.document_id(docs[0])
    assert set(MODES) == {"Count", "N-gram probability", "Next token", "∞-gram", "Documents"}


def splitmix64(x: int) -> int:
    """SplitMix64's finaliser in plain Python integers (the reference; its first output from state 0 is
    0xE220A8397B1DCDAF)."""
    mask = 2**64 - 1
    z = (x + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_random_order_is_a_fixed_formula_of_seed_and_doc(poem_index):
    """?order=random&seed=N lists the matches by splitmix64(splitmix64(N) ^ doc): the same on any machine and NumPy."""
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    docs = poem_index.matching_documents("data")[0].tolist()
    for seed in (0, 7, 2**32 - 1):
        expected = sorted(docs, key=lambda d: (splitmix64(splitmix64(seed) ^ d), d))
        assert poem_index.matching_documents("data", order="random", seed=seed)[0].tolist() == expected
        found = poem_index.find("data", order="random", seed=seed, limit=100)
        assert [h.doc for h in found.documents] == expected[:100]


@pytest.mark.parametrize("pasted", [PASSAGE.replace("\n", "\r\n"), PASSAGE.replace(" ", "\xa0")])
def test_a_paste_whose_white_space_differs_says_what_the_corpus_holds(poem_index_dir, poem_index, monkeypatch, pasted):
    at = ngrams(poem_index_dir, monkeypatch, q=pasted)
    no_trouble(at)
    assert poem_index.count(pasted).count == 0 and (expected := poem_index.count(PASSAGE).count) >= 1
    assert [m.value for m in at.metric] == ["0"]
    assert any(f"it occurs {expected:,} times" in i.value for i in at.info)
    at = ngrams(poem_index_dir, monkeypatch, q="nothing\r\nlike this")  # no plain version occurs: no hint
    assert not any("white space" in i.value for i in at.info)



def test_an_infgram_token_opens_its_context_distribution_and_match_documents(poem_index_dir, poem_index, monkeypatch):
    """?mode=∞-gram&token=K: the next tokens after the context token K's probability backed off to, and the
    documents holding the longest match ending at it — each equal to the engine's own answer."""
    text = "Roses are red, violets are green"
    answer = poem_index.infgram(text)
    k = max(range(len(answer.tokens)), key=lambda i: answer.tokens[i].match_length)  # a token with a long match
    t = answer.tokens[k]
    ids = [x.id for x in answer.tokens]
    context = ids[k - t.suffix_length : k]
    expected = poem_index.ntd(ids=context, top=10)
    holding = poem_index.find(ids=ids[k + 1 - t.match_length : k + 1], limit=5)
    assert t.match_length >= 2 and holding.count >= 1

    at = ngrams(poem_index_dir, monkeypatch, mode="∞-gram", q=text, token=str(k + 1))
    no_trouble(at)
    assert at.selectbox(key="ngram_token").value == k + 1
    shown = next(d.value for d in at.dataframe if "id" in d.value.columns and len(d.value) == len(expected.next_tokens)
                 and list(d.value["id"]) == [n.id for n in expected.next_tokens])
    assert list(shown["count"]) == [n.count for n in expected.next_tokens]
    assert any(f"continues {expected.prompt_count:,} times" in c.value for c in at.caption)
    captions = [c.value.replace("\\", "") for c in at.caption]  # as typed: Markdown escapes removed
    longest = f"longest match ({t.match_length:,} tokens"
    assert any(longest in c and f"{holding.count:,}" in c for c in captions), captions
    links = [p.proto for p in at.get("page_link") if "doc=" in p.proto.query_string]
    assert [int(dict(x.split("=", 1) for x in link.query_string.split("&"))["doc"]) for link in links] == [
        h.doc for h in holding.documents
    ]

    at = ngrams(poem_index_dir, monkeypatch, mode="∞-gram", q=text, token=str(len(answer.tokens) + 1))
    assert [e.value.replace("\\", "") for e in at.error] == [
        f"token {len(answer.tokens) + 1}: this text has {len(answer.tokens)} tokens"]


def test_documents_page_below_the_results_and_back_from_past_the_end(poem_index_dir, poem_index, monkeypatch):
    """Previous / Next below the documents move the Page box and the URL together; past the end, a way back."""
    pages = (poem_index.find("data").count + 9) // 10
    assert pages >= 2
    at = ngrams(poem_index_dir, monkeypatch, mode="Documents", q="data")
    at.button(key="ngram_pager_next").click().run()
    no_trouble(at)
    assert at.query_params["page"] == "2" and at.number_input(key="ngram_page").value == 2
    second = poem_index.find("data", limit=10, offset=10).documents[0]
    assert any(link.proto.label.startswith(f"doc {second.doc} ") for link in at.get("page_link"))
    at.button(key="ngram_pager_previous").click().run()
    assert "page" not in at.query_params and at.number_input(key="ngram_page").value == 1
    at = ngrams(poem_index_dir, monkeypatch, mode="Documents", q="data", page="90")
    assert at.warning[0].value == f"Page 90 is past the end: the answer has {pages} page(s) of 10."
    at.button(key="ngram_pager_last").click().run()
    no_trouble(at)
    assert at.query_params["page"] == str(pages) and not at.warning
