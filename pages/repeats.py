"""Repeats: what the corpus holds too often. Its most frequent n-grams of a chosen length, exact over every token
(`inspector.top_ngrams`, from the suffix arrays' LCP arrays), as a chart and a table, each linked to its documents
in context on the N-grams page. The URL is the state (?n=, &k=): a link shows the same view."""
import pandas as pd
import streamlit as st

from inspector import CorpusIndex, TopNgrams, top_ngrams
from inspector.repeats import MAX_N
from pages._shared import PAGES, current_index, md, stop_on_error
from pages._urls import url_int

DEFAULT = {"n": 13, "k": 20}  # 13 tokens: the n-gram length of contamination and dedup checks
MAX_SHOWN = 100


@st.cache_data(show_spinner=False, max_entries=32)
def most_frequent(_index: CorpusIndex, path: str, build: str, n: int, k: int) -> TopNgrams:
    """The answer, kept per index build and question (the index's LCP arrays stay with the opened index)."""
    return top_ngrams(_index, n, k)


def set_url(name: str) -> None:
    """A widget's value into the URL (left out when it is the default)."""
    value = st.session_state[f"repeats_{name}"]
    if value == DEFAULT[name]:
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = str(value)


def documents_params(ids: tuple[int, ...]) -> dict[str, str]:
    """The N-grams page's view of an n-gram's documents, in context: the ids, exactly."""
    return {"mode": "Documents", "q": ",".join(map(str, ids)), "ids": "1"}


index = current_index()
st.title("Repeats")
st.caption("The most frequent n-grams of the corpus, exact over every token: boilerplate, templates, mirrored "
           "pages. No n-gram crosses a document's end. The first question on an index computes its LCP arrays "
           "(about 3 s per 25M tokens); later ones take a fraction of that.")
with stop_on_error():  # what a URL can say, bounded and checked before it reaches the engine
    n = url_int(st.query_params.get("n"), "n (tokens per n-gram)", 1, MAX_N, default=DEFAULT["n"])
    k = url_int(st.query_params.get("k"), "k (n-grams listed)", 1, MAX_SHOWN, default=DEFAULT["k"])
st.session_state.repeats_n, st.session_state.repeats_k = n, k
with st.container(horizontal=True):
    st.number_input("Tokens per n-gram", 1, MAX_N, key="repeats_n", on_change=set_url, args=("n",), width=200)
    st.number_input("How many", 1, MAX_SHOWN, key="repeats_k", on_change=set_url, args=("k",), width=200)

with stop_on_error(), st.spinner(f"Counting every {n}-gram…"):
    top = most_frequent(index, str(index.path), index.build.name, n, k)
st.code(f"inspector top {index.path} --n {n} --k {k}", language="bash")
if not top.ngrams:
    st.info(f"No document holds {n:,} tokens: there is no {n}-gram.")
    st.stop()

st.caption(f"{top.total:,} {n}-gram occurrences in the corpus; the {len(top.ngrams):,} most frequent, most "
           "frequent first (ties by token ids):")
rows = pd.DataFrame({
    "rank": range(1, len(top.ngrams) + 1),
    "n-gram": [f"{rank}. {g.text!r}"[:80] for rank, g in enumerate(top.ngrams, 1)],
    "count": [g.count for g in top.ngrams],
    "share": [g.count / top.total for g in top.ngrams],
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
