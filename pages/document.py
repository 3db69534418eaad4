"""Document: one document a window at a time (?doc=N&at=OFFSET), its metadata, and the n-gram or search matches
marked, or a span given as ?mark=START-END (a contamination match: the window holding it opens). With marks, the
page steps from match to match (?match=K; the first when the link names no place), the window opening just before
it, or at the document's start when the whole document fits in one window; the match is scrolled into view. Every
cost of a request — finding matches, marking, text sent to the browser — is bounded: the first MATCH_LIMIT matches,
and the window, not the document."""
import shlex

import streamlit as st

from inspector import (
    DocumentMatches,
    InspectorError,
    annotator_metadata,
    bounded_text,
    document_matches,
    document_window,
    get_task,
    highlight_html,
)
from pages._shared import PAGES, SETTINGS, current_index, md, show_error, stop_on_error
from pages._urls import url_int, url_span

MATCH_LIMIT = 1000
LEAD = 300  # characters shown before the match stepped to
#: scrolls the n-th mark of the text shown into view, once it is drawn (the page draws it just before)
SCROLL_TO_MARK = """(function scroll(tries) {
  const mark = document.querySelectorAll(".document-text mark")[%d];
  if (mark) mark.scrollIntoView({block: "center"});
  else if (tries > 0) setTimeout(() => scroll(tries - 1), 100);
})(50);"""


@st.cache_data(show_spinner="Finding the matches…", max_entries=64)
def find_matches(_index, build: str, doc: int, ngram: str, search: str) -> DocumentMatches:
    """Cached per build, document and query: stepping from match to match finds them once."""
    return document_matches(_index, doc, ngram=ngram, search=search, limit=MATCH_LIMIT)


index = current_index()
st.title("Document")
if index.n_documents == 0:
    st.info("This index has no documents.")
    st.stop()
params = st.query_params
size = SETTINGS.document_window_chars


def open_view(**changes: str) -> None:
    """Another view of the page (a widget's callback): a new URL, so Back returns here; this place (at, mark, match)
    is left behind unless a change names it."""
    kept = {k: v for k, v in params.items() if k not in ("at", "mark", "match")}
    st.query_params.from_dict({k: v for k, v in (kept | changes).items() if v})


def document_number_box(value: int | None) -> None:
    """The box to open another document: shown with the URL's number (or empty, when the URL's was bad)."""
    st.session_state.doc_number = value
    st.number_input("Document number", 0, index.n_documents - 1, key="doc_number", placeholder="Type a number…",
                    on_change=lambda: open_view(doc=str(st.session_state.doc_number)))


requested = None
try:  # ?doc= given empty is a bad link, never document 0 unasked
    requested = url_int(params.get("doc"), "doc (the document number)", 0, index.n_documents - 1,
                        default=None if "doc" in params else 0)
    mark = url_span(params.get("mark"), "mark (the characters to mark)")
    at_given = bool(params.get("at"))
    at = url_int(params.get("at"), "at (the first character shown)", 0, 10**15, default=0)
    ngram = bounded_text(params.get("ngram"), "the n-gram to mark", SETTINGS.max_query_chars)
    search = bounded_text(params.get("search"), "the search terms to mark", SETTINGS.max_query_chars)
    match = url_int(params.get("match"), "match (the match shown)", 1, MATCH_LIMIT) if params.get("match") else None
    # opened from Annotate (?task=): what that task hides from its annotators stays hidden here
    task = get_task(index, bounded_text(params.get("task"), "task", 64)) if params.get("task") else None
    blind = task is not None and task.blind
    if match and not (ngram or search):
        raise InspectorError("match (the match shown) needs an n-gram (ngram=) or search terms (search=) to mark")
except InspectorError as exc:
    show_error(exc)
    document_number_box(requested)
    st.stop()

# the widgets show the URL on every run (Back included) and write it when changed
st.session_state.update(doc_ngram=ngram, doc_search=search)
document_number_box(requested)
left, right = st.columns(2)
left.text_input("Mark n-gram (CNF allowed)", key="doc_ngram",  # new marks: open at their first match
                on_change=lambda: open_view(ngram=st.session_state.doc_ngram))
right.text_input("Mark search terms", key="doc_search", on_change=lambda: open_view(search=st.session_state.doc_search))
doc = requested

matches = None
if ngram or search:
    with stop_on_error():
        matches = find_matches(index, str(index.build), doc, ngram, search)
        if match and match > len(matches.spans):
            raise InspectorError(f"match (the match shown) must be from 1 to {len(matches.spans):,} (the matches in "
                                 f"document {doc}), not {match:,}" if matches.spans else
                                 f"match (the match shown): document {doc} has no matches of what is marked")
    if match is None and not at_given and not mark and matches.spans:
        match = 1  # a link from a search or n-gram result: open its first match
# the match stepped to (or the span marked), unless the URL names the window: shown, and scrolled into view
focus = None if at_given else matches.spans[match - 1] if match else mark

with stop_on_error():
    window = document_window(index, doc, at, size, ngram=ngram, search=search, marks=[mark] if mark else (),
                             focus=focus, lead=LEAD)

if index.documents.changed_sources({window.file}):  # one stat: this document's shard
    shard = "This document's source shard" if blind else f"Source shard {window.file}"
    st.warning(md(f"{shard} was modified after this index was built. This document's text was "
                  "checked against the indexed one and matches; rebuild the index to count the new text."))
where = "" if blind else f" · id {window.id} · {window.file} row {window.row}"  # an id or file can name the source
st.text(f"doc {window.doc}{where} · {window.tokens:,} tokens · "
        f"{window.chars:,} characters · {len(window.marks):,} marked in this window")
with st.expander("Metadata"):
    st.json(annotator_metadata(index, task, window.metadata) if task is not None else window.metadata)
if blind:
    st.caption(md(f"Opened from task {task.name}: its id, source file and {', '.join(task.hidden) or 'score'} are "
                  "hidden from its annotators."))

if matches is not None:
    spans = matches.spans
    if not spans:
        st.info("Nothing marked occurs in this document" + (f" ({matches.limited})." if matches.limited else "."))
    else:
        # without ?match (a window named by ?at), the previous and next matches are those around the window's start
        before = match - 1 if match else sum(a < window.start for a, _ in spans)
        after = match + 1 if match else before + 1
        with st.container(horizontal=True, vertical_alignment="center"):  # wraps in a narrow window, never cuts
            st.button("Previous match", key="previous_match", shortcut="p", disabled=before < 1, help="Keyboard: P",
                      on_click=open_view, kwargs={"match": str(before)})
            where = f"match {match:,} of {len(spans):,}" if match else f"{len(spans):,} matches"
            st.markdown(md(where + (f" ({matches.limited})" if matches.limited else "")), width="content")
            st.button("Next match", key="next_match", shortcut="n", disabled=after > len(spans), help="Keyboard: N",
                      on_click=open_view, kwargs={"match": str(after)})


def window_link(start: int, label: str) -> None:
    st.page_link(PAGES["document"], label=label,
                 query_params={k: v for k, v in params.items() if k not in ("at", "match")}
                 | {"doc": str(doc), "at": str(start)})


if window.chars > size or window.start:
    st.caption(md(f"Characters {window.start:,}–{window.end:,} of {window.chars:,}: a window of the document. The "
                  "whole text, from the command line:"))
    st.code(f"inspector doc {shlex.quote(str(index.path))} {doc}", language="bash")  # the folder opened, resolved
    back, forward = st.columns(2)
    with back:
        if window.start:
            window_link(max(0, window.start - size), f"Previous {min(size, window.start):,} characters")
    with forward:
        if window.end < window.chars:
            window_link(window.end, f"Next {min(size, window.chars - window.end):,} characters")
st.html(
    '<pre style="white-space:pre-wrap;word-wrap:break-word;font-size:0.85em" class="document-text">'
    f"{highlight_html(window.text, window.marks)}</pre>"
)
if window.focus_mark is not None:  # our own script, no corpus text in it: the view named (in a comment) runs it anew
    st.html(f"<script>/* doc {doc} at {window.start} match {match} */ {SCROLL_TO_MARK % window.focus_mark}</script>",
            unsafe_allow_javascript=True)
