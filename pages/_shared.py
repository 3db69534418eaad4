"""What every page shares: the chosen index (opened once per process), safe text helpers, the page registry."""
from __future__ import annotations

import os
import re
from pathlib import Path

import streamlit as st

from inspector import CorpusIndex, InspectorError, open_index
from inspector.demo import DEFAULT_DEMO

PAGES = {
    "overview": "pages/overview.py",
    "ngrams": "pages/ngrams.py",
    "search": "pages/search.py",
    "document": "pages/document.py",
}


def default_index_path() -> str:
    return os.environ.get("INSPECTOR_INDEX") or str(DEFAULT_DEMO / "index")


def index_path() -> str:
    return st.session_state.get("index_path") or default_index_path()


@st.cache_resource(show_spinner="Opening the index…", max_entries=4)
def _open(path: str, build: str) -> CorpusIndex:
    """One memory-mapped index per (folder, build): a rebuild of the folder is opened anew."""
    return open_index(path)


def _live_build(path: str) -> str:
    try:
        return (Path(path) / "CURRENT").read_text().strip()
    except OSError:
        return ""


def try_index() -> CorpusIndex:
    """The chosen index; raises InspectorError (missing, damaged) for the caller to show."""
    path = index_path()
    return _open(path, _live_build(path))


def _leave_pages_folder_mode() -> None:
    """Make the entry script run first even on a fresh server's first request for a deep link (/document?doc=3).

    Until streamlit_app.py has called st.navigation once, Streamlit treats pages/ as its old pages folder and runs a
    page file directly, without our sidebar; switching that mode off and rerunning sends the request through the
    entry script (a Streamlit internal: the flag st.navigation itself clears).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get("left_pages_folder_mode"):
        st.session_state.left_pages_folder_mode = True  # once per session: a rerun would swallow a button's click
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_index() -> CorpusIndex:
    """The chosen index, or an error box saying what to do, and the page stops."""
    _leave_pages_folder_mode()
    try:
        return try_index()
    except InspectorError as exc:
        st.error(f"{md(str(exc))}  \nChoose another index folder in the sidebar, or build one with `inspector build`.")
        st.stop()


@st.cache_data(show_spinner="Computing corpus statistics…", max_entries=8)
def corpus_stats(path: str, build: str):
    return _open(path, build).stats()


def stats():
    path = index_path()
    return corpus_stats(path, _live_build(path))


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:&])")


def md(text: str) -> str:
    """Text made inert for Streamlit's Markdown (every special character backslash-escaped)."""
    return _MARKDOWN.sub(r"\\\1", text)


def show_error(exc: Exception) -> None:
    st.error(md(str(exc)))


def token_label(token: str) -> str:
    """A token as shown in tables and charts: its repr, so spaces and newlines are visible."""
    return repr(token)


def document_link(doc: int, label: str, **highlight: str) -> None:
    params = {"doc": str(doc), **{k: v for k, v in highlight.items() if v}}
    st.page_link(PAGES["document"], label=label, query_params=params)
