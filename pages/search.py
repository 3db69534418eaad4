"""Search: ranked full-text search (BM25) over the corpus, filtered by metadata, with highlighted snippets."""
import html

import streamlit as st

from inspector import InspectorError, url_int, url_text
from pages._shared import SETTINGS, current_index, document_link, md, show_error, stats

PAGE_SIZE = 10

MAX_PAGE = SETTINGS.max_search_offset // PAGE_SIZE + 1

index = current_index()
st.title("Search")
try:  # what a URL can say, bounded before it reaches Tantivy
    url_query = url_text(st.query_params.get("q"), "the search query", SETTINGS.max_query_chars)
    url_page = url_int(st.query_params.get("page"), "page", 1, MAX_PAGE, default=1)
except InspectorError as exc:
    show_error(exc)
    st.stop()
query = st.text_input(
    "Query",
    value=url_query,
    key="search_query",
    placeholder='"exact phrase" AND word -excluded source:web',
    help="Tantivy syntax: words (any), AND / OR / -, \"phrases\", field:value, field:[a TO b].",
)
st.query_params["q"] = query

filters = []
try:
    columns = index.filter_columns()
except InspectorError as exc:
    show_error(exc)
    st.stop()
corpus = stats()
with st.expander("Filters", expanded=False):
    for column, groups in corpus.facets.items():
        if columns.get(column) == "str":
            chosen = st.multiselect(md(column), [g.value for g in groups], key=f"filter_{column}")
            if chosen:
                filters.append((column, "in", chosen))
    for column, kind in columns.items():
        dist = corpus.distributions.get(column)
        if kind == "str" or dist is None or not dist.count or dist.min == dist.max:
            continue
        cast = int if kind == "int" else float
        lowest, highest = cast(dist.min), cast(dist.max)
        low, high = st.slider(md(column), lowest, highest, (lowest, highest), key=f"filter_{column}")
        if low > lowest:
            filters.append((column, ">=", low))
        if high < highest:
            filters.append((column, "<=", high))

page = st.number_input("Page", min_value=1, max_value=MAX_PAGE, value=url_page, key="search_page")
if page != url_page:
    st.query_params["page"] = str(page)
try:
    url_text(query, "the search query", SETTINGS.max_query_chars)
    result = index.search(query, filters=filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
except InspectorError as exc:
    show_error(exc)
    st.stop()
for warning in result.warnings:
    st.warning(md(warning))
st.metric("Matching documents", f"{result.total:,}")
for hit in result.hits:
    with st.container(border=True):
        st.html(
            f'<div style="font-size:0.8em;color:#666">doc {hit.doc} · score {hit.score:.3f} · '
            f"{html.escape(str(hit.id))}</div>"
            f'<div style="white-space:pre-wrap">{hit.snippet_html}</div>'
        )
        document_link(hit.doc, f"Open document {hit.doc}", search=query)
if result.total > PAGE_SIZE:
    st.caption(f"page {page} of {(result.total + PAGE_SIZE - 1) // PAGE_SIZE:,}")
