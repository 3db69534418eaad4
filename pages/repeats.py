"""Repeats: what the corpus holds too often, exact over every token, from the suffix arrays' LCP arrays. Its most
frequent n-grams of a chosen length (`inspector.top_ngrams`: a chart and a table, each linked to its documents in
context on the N-grams page), or its duplicated spans (`inspector.repeated_spans`: windows of `len` tokens held by
`docs` documents or more, the share of the corpus inside them, the largest spans with their documents). The URL is
the state (?show=spans, &n=, &upto= for maximal repeats of n to upto tokens, &k=, &len=, &docs=): a link shows
the same view."""
import shlex

import pandas as pd
import streamlit as st

from inspector import (
    CorpusIndex,
    InvalidQuery,
    MaximalRepeats,
    Repeats,
    TopNgrams,
    duplication_parameters,
    maximal_repeats,
    repeated_spans,
    top_ngrams,
)
from inspector.repeats import MAX_N
from pages._shared import PAGES, SETTINGS, current_index, document_link, md, stop_on_error
from pages._urls import quoted, url_int

#: 13 tokens: the n-gram length of contamination checks; 50: Lee et al.'s duplicated-span length
DEFAULT = {"show": "ngrams", "n": 13, "k": 20, "len": 50, "docs": 2}
SHOW = {"ngrams": "Top n-grams", "spans": "Duplicated spans"}
MAX_SHOWN = 100


@st.cache_data(show_spinner=False, max_entries=32)
def most_frequent(_index: CorpusIndex, path: str, build: str, n: int, k: int) -> TopNgrams:
    """The answer, kept per index build and question (the index's LCP arrays stay with the opened index)."""
    return top_ngrams(_index, n, k)


@st.cache_data(show_spinner=False, max_entries=32)
def most_frequent_maximal(_index: CorpusIndex, path: str, build: str, n: int, upto: int, k: int) -> MaximalRepeats:
    return maximal_repeats(_index, n, upto, k)


@st.cache_data(show_spinner=False, max_entries=32)
def duplicated(_index: CorpusIndex, path: str, build: str, length: int, docs: int, k: int) -> Repeats:
    return repeated_spans(_index, length, docs, k)


def set_url(name: str) -> None:
    """A widget's value into the URL (left out when it is the default)."""
    value = st.session_state[f"repeats_{name}"]
    if value is None or value == DEFAULT[name]:  # (a segmented control clicked twice is None: the default)
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = str(value)
    if name == "n":  # a range ends past its start, or it is one length
        set_upto()


def set_upto() -> None:
    """The longest length into the URL (left out when empty or no longer than n: one length)."""
    value = st.session_state.repeats_upto
    if value is None or value <= st.session_state.repeats_n:
        st.query_params.pop("upto", None)
    else:
        st.query_params["upto"] = str(value)


def documents_params(ids: tuple[int, ...]) -> dict[str, str]:
    """The N-grams page's view of an n-gram's documents, in context: the ids, exactly."""
    return {"mode": "Documents", "q": ",".join(map(str, ids)), "ids": "1"}


def show_top(n: int, upto: int, k: int) -> None:
    lengths = f"{n}..{upto}" if upto > n else str(n)
    with stop_on_error(), st.spinner(f"Counting every {n}-gram…" if upto == n else
                                     f"Finding the maximal repeats of {n} to {upto} tokens…"):
        top = (most_frequent(index, str(index.path), index.build.name, n, k) if upto == n else
               most_frequent_maximal(index, str(index.path), index.build.name, n, upto, k))
    st.code(f"inspector top {shlex.quote(str(index.path))} --n {lengths} --k {k}", language="bash")
    if not top.ngrams:
        st.info(f"No document holds {n:,} tokens: there is no {n}-gram." if upto == n else
                f"No n-gram of {n:,} to {upto:,} tokens occurs twice.")
        return
    if upto == n:
        st.caption(f"{top.total:,} {n}-gram occurrences in the corpus; the {len(top.ngrams):,} most frequent, most "
                   "frequent first (ties by token ids):")
    else:
        st.caption(f"The {len(top.ngrams):,} most frequent maximal repeats of {n:,} to {upto:,} tokens (no token "
                   "before or after extends one keeping every occurrence), most frequent first (ties by token ids):")
    rows = pd.DataFrame({
        "rank": range(1, len(top.ngrams) + 1),
        "n-gram": [f"{rank}. {g.text!r}"[:80] for rank, g in enumerate(top.ngrams, 1)],
        "count": [g.count for g in top.ngrams],
        **({"share": [g.count / top.total for g in top.ngrams]} if upto == n else
           {"tokens": [len(g.ids) for g in top.ngrams]}),
        "documents": [g.documents for g in top.ngrams],
        "text": [repr(g.text) for g in top.ngrams],
        "ids": [",".join(map(str, g.ids)) for g in top.ngrams],
    })
    st.bar_chart(rows, x="n-gram", y="count", horizontal=True, sort=False)
    st.dataframe(rows.drop(columns="n-gram"), hide_index=True,
                 column_config={"share": st.column_config.NumberColumn(format="%.6f", help="of the corpus's n-grams")})
    st.subheader("Their documents, in context")
    for rank, g in enumerate(top.ngrams, 1):
        st.page_link(PAGES["ngrams"], label=md(f"{rank}. {g.text!r}"[:100] + f" — {g.count:,} times"),
                     query_params=documents_params(g.ids))


def show_spans(length: int, docs: int, k: int) -> None:
    command = f"inspector repeats {shlex.quote(str(index.path))} --min-len {length} --min-docs {docs} --limit {k}"
    if index.n_tokens > SETTINGS.app_max_span_tokens:
        st.error(f"Duplicated spans over {index.n_tokens:,} tokens take longer than a shared server gives one request "
                 f"(this app's limit: {SETTINGS.app_max_span_tokens:,} tokens). Run it from the command line:")
        st.code(command, language="bash")
        return
    with stop_on_error(), st.spinner(f"Finding every window of {length} tokens in {docs}+ documents…"):
        found = duplicated(index, str(index.path), index.build.name, length, docs, k)
    whole = command.replace(f"--limit {k}", "--limit 0")
    st.code(f"{command}\n# every place as Parquet (doc, id, file, row, offsets) and a copy of the shards with them "
            f"blanked:\n{whole} --out spans.parquet --masked-copy deduped\n# each document's share of tokens in "
            f"these spans as the quality signal q_dup_span_frac (Sample, Annotate, Search):\n{whole} --signal",
            language="bash")
    show_signal(length, docs)
    with st.container(horizontal=True, gap="medium"):
        st.metric("Tokens in duplicated spans", f"{found.tokens_in_repeats / max(found.tokens, 1):.2%}",
                  help=f"{found.tokens_in_repeats:,} of {found.tokens:,}", width="content")
        st.metric("Documents holding one", f"{found.documents_with_repeats:,}", width="content")
    if len(found.by_source) > 1:
        st.caption("By source file:")
        st.dataframe(pd.DataFrame({
            "source": [s.file for s in found.by_source],
            "documents": [s.documents for s in found.by_source],
            "holding one": [s.documents_with_repeats for s in found.by_source],
            "tokens": [s.tokens for s in found.by_source],
            "share in spans": [s.tokens_in_repeats / max(s.tokens, 1) for s in found.by_source],
        }), hide_index=True, column_config={"share in spans": st.column_config.NumberColumn(format="percent")})
    if not found.spans:
        st.info(f"No window of {length:,} tokens stands in {docs:,} documents or more.")
        return
    st.caption(f"The {len(found.spans):,} largest spans (count × length), each as the whole span its windows cover:")
    st.dataframe(pd.DataFrame({
        "rank": range(1, len(found.spans) + 1),
        "count": [s.count for s in found.spans],
        "tokens": [s.ids_length for s in found.spans],
        "documents": [", ".join(map(str, s.documents[:10])) + (" …" if s.count > 10 else "") for s in found.spans],
        "text": [repr(s.text) for s in found.spans],
    }), hide_index=True)
    st.subheader("Where they stand")
    for rank, s in enumerate(found.spans[:20], 1):
        document_link(s.documents[0], md(f"{rank}. doc {s.documents[0]} — {s.text[:60]!r}… ({s.count:,} places)"))


def show_signal(length: int, docs: int) -> None:
    """Whether the catalog holds q_dup_span_frac, for which windows, and a link to sample by it."""
    held = duplication_parameters(index.build)
    if held is None:
        st.caption("The catalog has no q_dup_span_frac yet: the last command above adds it.")
        return
    other = "" if held == (length, docs) else " (not these settings: the last command above replaces it)"
    st.caption(f"The catalog holds q_dup_span_frac for windows of {held[0]:,} tokens in {held[1]:,}+ documents{other}.")
    st.page_link(PAGES["sample"], label="Sample documents by q_dup_span_frac",
                 query_params={"score": "q_dup_span_frac"})


index = current_index()
st.title("Repeats")
st.caption("What the corpus holds too often, exact over every token: boilerplate, templates, mirrored pages. No "
           "n-gram or span crosses a document's end. The first question on an index computes its LCP arrays (about "
           "3 s per 25M tokens); later ones take a fraction of that.")
with stop_on_error():  # what a URL can say, bounded and checked before it reaches the engine
    show = st.query_params.get("show", DEFAULT["show"])
    if show not in SHOW:
        raise InvalidQuery(f"show must be one of {', '.join(SHOW)}, not {quoted(show)}")
    n = url_int(st.query_params.get("n"), "n (tokens per n-gram)", 1, MAX_N, default=DEFAULT["n"])
    upto = url_int(st.query_params.get("upto"), "upto (the longest maximal repeat)", n, MAX_N, default=n)
    k = url_int(st.query_params.get("k"), "k (n-grams or spans listed)", 1, MAX_SHOWN, default=DEFAULT["k"])
    length = url_int(st.query_params.get("len"), "len (tokens per window)", 1, MAX_N, default=DEFAULT["len"])
    docs = url_int(st.query_params.get("docs"), "docs (documents a window stands in)", 2, 1000,
                   default=DEFAULT["docs"])
for name, value in {"show": show, "n": n, "k": k, "len": length, "docs": docs}.items():
    st.session_state[f"repeats_{name}"] = value
st.session_state.repeats_upto = upto if upto > n else None
st.segmented_control("Show", list(SHOW), format_func=SHOW.get, key="repeats_show", on_change=set_url,
                     args=("show",))
with st.container(horizontal=True):
    if show == "ngrams":
        st.number_input("Tokens per n-gram", 1, MAX_N, key="repeats_n", on_change=set_url, args=("n",), width=200)
        st.number_input("Up to (maximal repeats)", 1, MAX_N, key="repeats_upto", on_change=set_upto, width=200,
                        help="A range of lengths lists the most frequent maximal repeats in it: n-grams no token "
                             "before or after extends without losing an occurrence.")
    else:
        st.number_input("Tokens per window", 1, MAX_N, key="repeats_len", on_change=set_url, args=("len",),
                        width=200)
        st.number_input("In documents, at least", 2, 1000, key="repeats_docs", on_change=set_url, args=("docs",),
                        width=200)
    st.number_input("How many", 1, MAX_SHOWN, key="repeats_k", on_change=set_url, args=("k",), width=200)

if show == "ngrams":
    show_top(n, upto, k)
else:
    show_spans(length, docs, k)
