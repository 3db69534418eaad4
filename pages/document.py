"""Document: one document a window at a time (?doc=N&at=OFFSET), its metadata, and the n-gram or search matches
marked, or a span given as ?mark=START-END (a contamination match: the window holding it opens). Every cost of a
request — marking, text sent to the browser — is bounded by the window, not the document."""
import streamlit as st

from inspector import InspectorError, document_window, highlight_html, url_int, url_span, url_text
from pages._shared import PAGES, SETTINGS, current_index, md, show_error

index = current_index()
st.title("Document")
if index.n_documents == 0:
    st.info("This index has no documents.")
    st.stop()
params = st.query_params
size = SETTINGS.document_window_chars
try:
    requested = url_int(params.get("doc"), "doc (the document number)", 0, index.n_documents - 1, default=0)
    mark = url_span(params.get("mark"), "mark (the characters to mark)")
    at = url_int(params.get("at"), "at (the first character shown)", 0, 10**15,
                 default=mark[0] // size * size if mark else 0)
    ngram = url_text(params.get("ngram"), "the n-gram to mark", SETTINGS.max_query_chars)
    search = url_text(params.get("search"), "the search terms to mark", SETTINGS.max_query_chars)
except InspectorError as exc:
    show_error(exc)
    st.stop()

doc = st.number_input("Document number", 0, index.n_documents - 1, requested)
if doc != requested:  # another document: from its start, without the span marked in this one
    st.query_params.from_dict({k: v for k, v in params.items() if k not in ("at", "mark")} | {"doc": str(doc)})
    st.rerun()
left, right = st.columns(2)
ngram = left.text_input("Mark n-gram (CNF allowed)", value=ngram, key="doc_ngram")
search = right.text_input("Mark search terms", value=search, key="doc_search")
for name, value in (("ngram", ngram), ("search", search)):
    if value != params.get(name, ""):
        st.query_params[name] = value

try:
    window = document_window(index, doc, at, size, ngram=ngram, search=search, marks=[mark] if mark else ())
except InspectorError as exc:
    show_error(exc)
    st.stop()

if index.documents.changed_sources({window.file}):  # one stat: this document's shard
    st.warning(md(f"Source shard {window.file} was modified after this index was built. This document's text was "
                  "checked against the indexed one and matches; rebuild the index to count the new text."))
st.text(f"doc {window.doc} · id {window.id} · {window.file} row {window.row} · {window.tokens:,} tokens · "
        f"{window.chars:,} characters · {len(window.marks):,} marked in this window")
with st.expander("Metadata"):
    st.json(window.metadata)


def window_link(start: int, label: str) -> None:
    st.page_link(PAGES["document"], label=label,
                 query_params={k: v for k, v in params.items() if k != "at"} | {"doc": str(doc), "at": str(start)})


if window.chars > size or window.start:
    st.caption(md(f"Characters {window.start:,}–{window.end:,} of {window.chars:,} "
                  f"(the whole text: inspector doc INDEX {doc})"))
    back, forward = st.columns(2)
    with back:
        if window.start:
            window_link(max(0, window.start - size), f"Previous {size:,} characters")
    with forward:
        if window.end < window.chars:
            window_link(window.end, f"Next {min(size, window.chars - window.end):,} characters")
st.html(
    '<pre style="white-space:pre-wrap;word-wrap:break-word;font-size:0.85em" class="document-text">'
    f"{highlight_html(window.text, window.marks)}</pre>"
)
