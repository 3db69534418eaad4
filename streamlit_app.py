"""Corpus Inspector: the app. The entry builds the navigation and the shared sidebar; each page lives in pages/."""
from __future__ import annotations

import streamlit as st

from inspector import DEFAULT_DEMO, InspectorError, build_demo, confined_path
from pages._shared import (
    PAGES,
    SETTINGS,
    default_index_path,
    index_choices,
    index_label,
    index_path,
    rebuilt_since_last_view,
    try_index,
    warm_after_page,
)

#: the sidebar's width: narrow enough that an 800-pixel window keeps 560 for the page (Streamlit's own is 300; a
#: reader can drag it wider, and below 768 pixels it starts closed)
SIDEBAR_PIXELS = 240


def choose_index() -> None:
    """A folder picked from the list becomes the typed one (the text box stays the one source of truth)."""
    st.session_state.index_path = st.session_state.index_choice


def chosen(choices: list[str]) -> str | None:
    """The typed index folder, when it is one of `choices` (resolved paths): the list shows it as chosen."""
    try:
        path = confined_path(index_path(), SETTINGS.app_roots)
    except InspectorError:
        return None
    return path if path in choices else None


st.set_page_config(page_title="Corpus Inspector", page_icon=":material/manage_search:", layout="wide",
                   initial_sidebar_state=SIDEBAR_PIXELS)

# The index folder: from the URL (?index=...) once, then from the sidebar; kept in the URL so a view can be shared.
if "index_path" not in st.session_state:
    st.session_state.index_path = st.query_params.get("index") or default_index_path()

pages = [
    st.Page(PAGES["overview"], title="Overview", icon=":material/analytics:", default=True),
    st.Page(PAGES["ngrams"], title="N-grams", icon=":material/tag:", url_path="ngrams"),
    st.Page(PAGES["repeats"], title="Repeats", icon=":material/repeat:", url_path="repeats"),
    st.Page(PAGES["search"], title="Search", icon=":material/search:", url_path="search"),
    st.Page(PAGES["document"], title="Document", icon=":material/description:", url_path="document"),
    st.Page(PAGES["contamination"], title="Contamination", icon=":material/policy:", url_path="contamination"),
    st.Page(PAGES["sample"], title="Sample", icon=":material/casino:", url_path="sample"),
    st.Page(PAGES["annotate"], title="Annotate", icon=":material/edit_note:", url_path="annotate"),
    st.Page(PAGES["agreement"], title="Agreement", icon=":material/balance:", url_path="agreement"),
]
navigation = st.navigation(pages)
if st.runtime.exists():  # (not when a build's worker process re-runs this file as its main module)
    st.session_state.page_title = navigation.title  # what a page shows above an error box when no index opens
if "doc" in st.query_params and navigation.url_path not in ("document", "annotate"):  # Annotate: ?doc= is an item
    st.switch_page(PAGES["document"], query_params=dict(st.query_params))

with st.sidebar:
    try:
        facts = try_index().info()  # first: an index opened now is among the recently opened ones below
    except InspectorError:  # the page says what is wrong, in one error box
        facts = None
    choices = index_choices()
    st.session_state.index_choice = chosen(choices)
    if choices:
        st.selectbox("Indexes found", choices, format_func=index_label, key="index_choice", on_change=choose_index,
                     placeholder="Choose one…",
                     help="Opened in this session, or found two levels under "
                          + ("the folders this app may open." if SETTINGS.app_roots else
                             "the current index's folder and the working folder."))
    st.text_input("Index folder", key="index_path", help="A folder made by `inspector build` or `inspector demo`.")
    if st.session_state.index_path != default_index_path():
        st.query_params["index"] = st.session_state.index_path
    else:
        st.query_params.pop("index", None)
    if facts is None:
        if index_path() == str(DEFAULT_DEMO / "index") and st.button("Build the demo index"):
            bar = st.progress(0.0, text="Starting…")

            def report(stage: str, done: int, total: int) -> None:
                bar.progress(done / total if total else 1.0, text=f"{stage}: {done:,} of {total:,}")

            build_demo(DEFAULT_DEMO, progress=report)
            st.rerun()
    else:
        if rebuilt_since_last_view():
            st.toast(f"The index was rebuilt: now answering from the build of {facts.created}.", icon="🔄")
        st.caption("Index")
        st.text(
            f"{facts.documents:,} documents\n{facts.tokens:,} tokens\n{len(facts.shards)} shard(s), "
            f"{facts.tokenizer} tokenizer\nbuilt {facts.created}"
        )

try:
    navigation.run()
finally:  # also after a page's st.stop(): what the first count and contamination check need, loaded once drawn
    warm_after_page()
