"""Document: one document whole (long ones in pieces), its metadata, and the n-gram or search matches marked."""
import streamlit as st

from inspector import InspectorError, highlight_html
from pages._shared import current_index, show_error

STEP = 20_000  # characters shown at first, and added by "show more"

index = current_index()
st.title("Document")
if index.n_documents == 0:
    st.info("This index has no documents.")
    st.stop()
try:
    requested = int(st.query_params.get("doc", 0))
except ValueError:
    requested = 0
doc = st.number_input("Document number", 0, index.n_documents - 1, min(max(requested, 0), index.n_documents - 1))
if str(doc) != st.query_params.get("doc"):
    st.query_params["doc"] = str(doc)
left, right = st.columns(2)
ngram = left.text_input("Mark n-gram (CNF allowed)", value=st.query_params.get("ngram", ""), key="doc_ngram")
search = right.text_input("Mark search terms", value=st.query_params.get("search", ""), key="doc_search")

try:
    document = index.document(doc)
    ranges = []
    if ngram:
        ranges += [(m.char_start, m.char_end) for m in index.locate(doc, ngram)]
    if search:
        ranges += list(index.search_highlights(document.text, search))
except InspectorError as exc:
    show_error(exc)
    st.stop()

st.text(f"doc {document.doc} · id {document.id} · {document.file} row {document.row} · "
        f"{document.tokens:,} tokens · {len(document.text):,} characters · {len(ranges):,} marked")
with st.expander("Metadata"):
    st.json(document.metadata)

shown = st.session_state.setdefault(f"shown_{doc}", STEP)
text = document.text[:shown]
st.html(
    '<pre style="white-space:pre-wrap;word-wrap:break-word;font-size:0.85em" class="document-text">'
    f"{highlight_html(text, [(a, min(b, len(text))) for a, b in ranges if a < len(text)])}</pre>"
)
if len(document.text) > shown:
    st.caption(f"Showing the first {shown:,} of {len(document.text):,} characters.")
    more, everything = st.columns(2)
    if more.button(f"Show {STEP:,} more"):
        st.session_state[f"shown_{doc}"] = shown + STEP
        st.rerun()
    everything.download_button("Download the whole text", document.text, file_name=f"doc-{doc}.txt")
