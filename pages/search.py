"""Search: ranked full-text search (BM25) over the corpus, filtered by metadata, with highlighted snippets.

The URL is the state (?q=, &page=, &sort=[-]COLUMN, &f_COLUMN=VALUE for each chosen value of a text column,
&f_COLUMN=LOW..HIGH for a number range, either side open): widgets write it when changed, and every run reads it, so
a shared URL shows the same view. A new query, filter or sort goes back to page 1."""
import math
import re

import streamlit as st

from inspector import InvalidQuery, bounded_text
from pages._shared import SETTINGS, current_index, document_link, md, pager, stats, stop_on_error
from pages._urls import url_int, url_range

PAGE_SIZE = 10
MAX_PAGE = SETTINGS.max_search_offset // PAGE_SIZE + 1
MAX_WHOLE = 2**53 - 1  # the largest whole number a browser's number box holds exactly
MAX_FILTER_CHARS = 256  # a string value is filtered on its first 256 characters (index.fulltext._MAX_RAW)
HELP = ('Tantivy syntax: words (a document with any of them matches; those with more rank first), "exact phrases", '
        "AND / OR / NOT or -word, ( ) groups, field:value (e.g. source:web). With a field:value clause, the parts are "
        "joined by AND unless you write OR: `source:web kernel` is web documents with kernel. AND and OR need a "
        'term on each side (quote them, "and", to search for the word).')


def show_range(low, high) -> str:
    return f"≥ {low}" if high is None else f"≤ {high}" if low is None else f"{low} to {high}"


def set_url(**changes) -> None:
    """Write widget values to the URL (empty ones removed); any change but the page's goes back to page 1."""
    for name, value in changes.items():
        if value in (None, "", []):
            st.query_params.pop(name, None)
        else:
            st.query_params[name] = value
    if "page" not in changes:
        st.query_params.pop("page", None)


index = current_index()
st.title("Search")
with stop_on_error():  # what a URL can say, bounded and checked before it reaches Tantivy
    columns = index.filter_columns()
    url_query = bounded_text(st.query_params.get("q"), "the search query", SETTINGS.max_query_chars)
    url_page = url_int(st.query_params.get("page"), "page", 1, MAX_PAGE, default=1)
    sorts = [""] + [f"{sign}{c}" for c in index.sort_columns() for sign in ("-", "")]
    sort = st.query_params.get("sort", "")
    if sort not in sorts:
        raise InvalidQuery(f"sort must be one of: {', '.join(s for s in sorts if s)} (- first: highest first), not "
                           f"{sort[:40]!r}")
    chosen, ranges = {}, {}
    for name in st.query_params:
        if not name.startswith("f_"):
            continue
        column = name[2:]
        if column not in columns:
            raise InvalidQuery(f"{name}: no filterable column {column!r}; the columns are: "
                               f"{', '.join(sorted(columns)) or 'none'}")
        if columns[column] == "str":
            chosen[column] = [bounded_text(v, name, MAX_FILTER_CHARS) for v in st.query_params.get_all(name)]
        else:
            text = bounded_text(st.query_params.get(name), name, 100)
            ranges[column] = url_range(text, name, columns[column] != "float")

st.session_state.search_query = url_query
query = st.text_input("Query", key="search_query", placeholder='"exact phrase" AND word -excluded source:web',
                      help=HELP,
                      on_change=lambda: set_url(q=st.session_state.search_query))

corpus = stats()
with st.expander("Filters", expanded=False):
    for column, groups in corpus.facets.items():
        if columns.get(column) == "str":
            key = f"filter_{column}"
            st.session_state[key] = [v for v in chosen.get(column, []) if v in {g.value for g in groups}]
            st.multiselect(md(column), [g.value for g in groups], key=key,
                           on_change=lambda c=column, k=key: set_url(**{f"f_{c}": st.session_state[k]}))
    for column, kind in columns.items():
        dist = corpus.distributions.get(column)
        if kind == "str" or dist is None or not dist.count or dist.min == dist.max:
            continue
        cast = int if kind == "int" else float
        lowest, highest = cast(dist.min), cast(dist.max)
        if kind == "int" and max(-lowest, highest) > MAX_WHOLE:
            st.caption(md(f"{column}: whole numbers from {dist.min:.3g} to {dist.max:.3g}, too large for a browser's "
                          f"number box; filter it in the query: {column}:[LOW TO HIGH]"))
            continue
        low, high = ranges.get(column, (None, None))
        keys = f"filter_{column}", f"filter_{column}_min", f"filter_{column}_max"
        st.session_state[keys[0]] = (min(max(low, lowest), highest) if low is not None else lowest,
                                     max(min(high, highest), lowest) if high is not None else highest)
        st.session_state[keys[1]], st.session_state[keys[2]] = low, high

        def from_slider(c=column, k=keys[0], ends=(lowest, highest)) -> None:
            a, b = st.session_state[k]
            set_url(**{f"f_{c}": "" if (a, b) == ends else f"{'' if a == ends[0] else a}..{'' if b == ends[1] else b}"})

        def from_inputs(c=column, k=keys) -> None:
            a, b = st.session_state[k[1]], st.session_state[k[2]]
            shown = f"{'' if a is None else a}..{'' if b is None else b}"
            set_url(**{f"f_{c}": "" if a is None and b is None else shown})

        if math.isfinite(highest - lowest):  # a browser draws a slider over ±1e308 as one dot, both ends at the left
            st.slider(md(column), lowest, highest, key=keys[0], on_change=from_slider)
        left, right = st.columns(2)
        step, shown = (1, "%d") if kind == "int" else (0.001, "%.3f")
        left.number_input(f"{md(column)}: at least", key=keys[1], step=step, format=shown, on_change=from_inputs)
        right.number_input(f"{md(column)}: at most", key=keys[2], step=step, format=shown, on_change=from_inputs)

filters = [(c, "in", values) for c, values in chosen.items() if values]
filters += [(c, op, v) for c, (low, high) in ranges.items() for op, v in ((">=", low), ("<=", high)) if v is not None]
active = [f"{c} in [{', '.join(v)}]" for c, v in chosen.items() if v]
active += [f"{c} {show_range(low, high)}" for c, (low, high) in ranges.items()]
st.caption(md("Filtered by: " + "; ".join(active)) if active else "Not filtered")

st.session_state.search_sort = sort
st.selectbox("Sort", sorts, key="search_sort", on_change=lambda: set_url(sort=st.session_state.search_sort),
             format_func=lambda s: f"{s[1:]}, highest first" if s.startswith("-") else
             f"{s}, lowest first" if s else "relevance (BM25)")
st.session_state.search_page = url_page
page = st.number_input("Page", min_value=1, max_value=MAX_PAGE, key="search_page",
                       on_change=lambda: set_url(page=str(st.session_state.search_page)))
with stop_on_error():
    result = index.search(query, filters=filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, sort=sort)
for warning in result.warnings:
    st.warning(md(warning))
st.metric("Matching documents", f"{result.total:,}")
shown_columns = [c for c, kind in columns.items() if c == "source" or (kind != "str" and re.search("quality|score", c))]
for hit in result.hits:
    with st.container(border=True):
        facts = [f"doc {hit.doc}", f"id {hit.id}"] + ([] if sort else [f"score {hit.score:.3f}"])
        facts += [f"{index.documents.tokens(hit.doc):,} tokens"]
        facts += [f"{c} {hit.metadata[c]}" for c in shown_columns if hit.metadata.get(c) is not None]
        st.text(" · ".join(facts))
        st.html(f'<div style="white-space:pre-wrap">{hit.snippet_html}</div>')
        document_link(hit.doc, f"Open document {hit.doc}", search=query)
if result.total:  # the same page as the box above (the URL's); past the end, a way back
    pager(page, (result.total + PAGE_SIZE - 1) // PAGE_SIZE, PAGE_SIZE, lambda n: set_url(page=str(n)), "search_pager")
