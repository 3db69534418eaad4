"""N-grams: exact counts, next-token distributions, ∞-gram coverage and document search over the suffix array."""
import html

import pandas as pd
import streamlit as st

from inspector import InspectorError, parse_ids, url_int, url_text
from pages._shared import SETTINGS, current_index, document_link, md, show_error, token_label

MODES = ["Count", "Next token", "∞-gram", "Documents"]
PAGE_SIZE = 10

index = current_index()
st.title("N-grams")
st.caption("Exact over every token of the corpus. A text starting with a letter counts both ' word…' (inside "
           "text) and 'word…' (at a line or document start) unless the boundary is set to exact.")

params = st.query_params
if params.get("mode", "Count") not in MODES:
    st.error(f"mode must be one of {', '.join(MODES)}, not {md(repr(params['mode'][:40]))}")
    st.stop()
MAX_PAGE = SETTINGS.max_search_offset // PAGE_SIZE + 1
try:  # what a URL can say, bounded before it reaches the tokenizer or the engine
    url_query = url_text(params.get("q"), "the query", 8 * SETTINGS.max_infgram_tokens)
    url_page = url_int(params.get("page"), "page", 1, MAX_PAGE, default=1)
except InspectorError as exc:
    show_error(exc)
    st.stop()
mode = st.segmented_control("Mode", MODES, default=params.get("mode", "Count"), key="ngram_mode") or "Count"
query = st.text_input(
    "Query",
    value=url_query,
    key="ngram_query",
    placeholder="deep learning AND (GPU OR TPU)" if mode == "Documents" else "natural language",
)
with st.expander("Options"):
    boundary = st.radio("Word boundary", ["word", "exact"], horizontal=True, key="ngram_boundary")
    as_ids = st.toggle("The query is token ids (comma-separated)", key="ngram_ids")
    top = st.number_input("Next tokens to show", 5, 500, 20, key="ngram_top")
st.query_params.update({"mode": mode, "q": query})


def show_tokens(variants) -> None:
    rows = [{"tokens": " ".join(token_label(t) for t in v.tokens), "ids": ",".join(map(str, v.ids)),
             "count": v.count} for v in variants]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


INF_COLOURS = ["transparent", "#fde2e2", "#fcd0a1", "#fff3a3", "#c9f2c7", "#9fe3f0", "#b9c6ff"]


def infgram_html(result) -> str:
    """Each token escaped, coloured by how long a suffix ending there occurs; hover for its ∞-gram numbers."""
    spans = []
    for t in result.tokens:
        level = min(len(INF_COLOURS) - 1, t.match_length.bit_length())
        tip = (f"match length {t.match_length}; ∞-gram n={t.suffix_length + 1}, "
               f"p={t.prob:.4g} = {t.count:,}/{t.prompt_count:,}")
        spans.append(f'<span class="tok" style="background:{INF_COLOURS[level]}" title="{html.escape(tip)}">'
                     f"{html.escape(t.token)}</span>")
    legend = " ".join(f'<span class="tok" style="background:{c}">{"0" if i == 0 else f"≥{2 ** (i - 1)}"}</span>'
                      for i, c in enumerate(INF_COLOURS))
    style = ("<style>.tok{border-radius:3px;padding:1px 0;white-space:pre-wrap;font-family:monospace}"
             ".inf{line-height:1.9}</style>")
    return f'{style}<div class="inf">{"".join(spans)}</div><p>longest matching suffix, in tokens: {legend}</p>'


if not query and mode != "Count":
    st.info("Type a query.")
    st.stop()
ids = None
try:
    url_text(query, "the query", 8 * SETTINGS.max_infgram_tokens if mode == "∞-gram" else SETTINGS.max_query_chars)
    if as_ids:
        ids = parse_ids(query)
    if mode == "Count":
        result = index.count(query, ids=ids, boundary=boundary)
        st.metric("Count", f"{result.count:,}")
        show_tokens(result.variants)
        if len(result.per_shard) > 1:
            st.caption("Per shard")
            st.bar_chart(pd.DataFrame({"shard": range(len(result.per_shard)), "count": result.per_shard}),
                         x="shard", y="count")
    elif mode == "Next token":
        result = index.ntd(query, ids=ids, top=int(top), boundary=boundary)
        c = st.columns(3)
        c[0].metric("Prompt count", f"{result.prompt_count:,}")
        c[1].metric("Distinct next tokens", f"{result.distinct:,}")
        c[2].metric("Ends a document", f"{result.document_ends:,}")
        show_tokens(result.variants)
        if result.next_tokens:
            table = pd.DataFrame([{"token": token_label(t.token), "id": t.id, "count": t.count, "prob": t.prob}
                                  for t in result.next_tokens])
            st.bar_chart(table, x="token", y="prob", horizontal=True, sort="-prob")
            st.dataframe(table, hide_index=True)
    elif mode == "∞-gram":
        result = index.infgram(query, ids=ids)
        st.html(infgram_html(result))
        table = pd.DataFrame([{"token": token_label(t.token), "match length": t.match_length,
                               "n": t.suffix_length + 1, "count": t.count, "prompt count": t.prompt_count,
                               "prob": t.prob} for t in result.tokens])
        st.dataframe(table, hide_index=True)
    else:
        page = st.number_input("Page", min_value=1, max_value=MAX_PAGE, value=url_page, key="ngram_page")
        if page != url_page:
            st.query_params["page"] = str(page)
        result = index.find(query, ids=ids, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, boundary=boundary)
        st.metric("Documents" + (" (at least: a clause was sampled)" if result.approx else ""), f"{result.count:,}")
        for clause in result.clauses:
            show_tokens(clause)
        for hit in result.documents:
            s = hit.snippet
            st.html(f'<div class="kwic" style="font-family:monospace;white-space:pre-wrap">'
                    f"…{html.escape(s.left)}<mark>{html.escape(s.match)}</mark>{html.escape(s.right)}…</div>")
            document_link(hit.doc, md(f"doc {hit.doc} · {hit.id or ''} · {len(hit.matches)} match(es)"), ngram=query)
        if result.count > PAGE_SIZE:
            st.caption(f"page {page} of {(result.count + PAGE_SIZE - 1) // PAGE_SIZE:,}")
except InspectorError as exc:
    show_error(exc)
