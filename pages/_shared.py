"""What every page shares: the chosen index (opened once per process), safe text helpers, the page registry."""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from inspector import (
    DEFAULT_DEMO,
    ROOTS_ENV,
    CorpusIndex,
    IndexCorrupt,
    IndexMissing,
    InspectorError,
    NotAnIndex,
    Settings,
    confined_path,
    find_indexes,
    live_build_name,
    open_index,
)

#: `inspector app --root DIR` folders arrive through the environment (Streamlit runs the app in its own process)
SETTINGS = Settings(app_roots=tuple(p for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p))

PAGES = {
    "overview": "pages/overview.py",
    "ngrams": "pages/ngrams.py",
    "repeats": "pages/repeats.py",
    "search": "pages/search.py",
    "document": "pages/document.py",
    "contamination": "pages/contamination.py",
    "sample": "pages/sample.py",
    "annotate": "pages/annotate.py",
    "agreement": "pages/agreement.py",
}


def default_index_path() -> str:
    return os.environ.get("INSPECTOR_INDEX") or str(DEFAULT_DEMO / "index")


def index_path() -> str:
    return st.session_state.get("index_path") or default_index_path()


def index_choices() -> list[str]:
    """The index folders to offer: those opened in this session (latest first), then those found two levels under
    the roots when the app is confined, else under the current index's folder and the working folder."""
    folders = list(SETTINGS.app_roots)
    if not folders:
        folders = [os.getcwd()]
        try:
            folders.insert(0, os.path.dirname(confined_path(index_path(), ())))
        except InspectorError:  # no usable path typed: the working folder only
            pass
    found = []
    for path in find_indexes(folders, entries=SETTINGS.app_index_search_entries):
        try:
            found.append(confined_path(path, SETTINGS.app_roots))
        except InspectorError:  # a link out of the roots
            pass
    return list(dict.fromkeys([*st.session_state.get("recent_indexes", []), *found]))


def index_label(path: str) -> str:
    """An index folder as listed: its name first (a narrow list cuts the end of a long path), then where it is."""
    return f"{os.path.basename(path)} — {os.path.dirname(path)}"


@st.cache_resource(show_spinner="Opening the index…", max_entries=4)
def _open(path: str, build: str) -> CorpusIndex:
    """One memory-mapped index per (folder, build): a rebuild of the folder is opened anew, and the build opened
    before it stays whole on disk while this process holds it. Opening checks sizes and times; a background thread
    then reads every file against its checksum (`_damage` says if one failed). `warm_after_page` loads the rest."""
    index = open_index(path, settings=SETTINGS)
    threading.Thread(target=_verify, args=(index, (path, build)), daemon=True, name="verify-index").start()
    return index


@st.cache_resource(show_spinner=False, max_entries=4)
def _warm(path: str, build: str) -> threading.Thread:
    index = _open(path, build)
    thread = threading.Thread(target=lambda: (index.tokenizer, index.warm()), daemon=True, name="warm-kernels")
    thread.start()
    return thread


def warm_after_page() -> None:
    """Once per opened index, after the first page is drawn (the entry script calls this last): load its tokenizer
    and compiled search in a thread, so that the first count does not wait for them, and the first page does not
    share the GIL with numba's second of loading them."""
    try:
        path = confined_path(index_path(), SETTINGS.app_roots)
        build = live_build_name(path)
        if (path, build) not in _damage:  # a damaged index is not read further
            _warm(path, build)
    except (InspectorError, OSError, ValueError):  # no usable index: the page has said so
        pass


_damage: dict[tuple[str, str], str] = {}


def _verify(index: CorpusIndex, key: tuple[str, str]) -> None:
    try:
        index.verify()
    except IndexCorrupt as exc:
        _damage[key] = str(exc)


def try_index() -> CorpusIndex:
    """The chosen index; raises InspectorError (outside the roots, missing, damaged) for the caller to show."""
    path = confined_path(index_path(), SETTINGS.app_roots)
    try:
        build = live_build_name(path)
        if (path, build) in _damage:
            raise IndexCorrupt(_damage[(path, build)])
        index = _open(path, build)
    except IndexMissing:  # no index there: say what to run (a folder of Parquet files is a corpus, not the place)
        raise NotAnIndex(path) from None
    except (OSError, ValueError) as exc:  # whatever the folder holds (CURRENT a folder, unreadable): one clear line
        raise IndexMissing(f"no usable index at {path} ({type(exc).__name__}): rebuild it or choose another") from None
    recent = st.session_state.setdefault("recent_indexes", [])
    if path not in recent[:1]:  # this session's recently opened indexes, latest first
        st.session_state.recent_indexes = [path, *(p for p in recent if p != path)][:8]
    return index


def rebuilt_since_last_view() -> bool:
    """True once per session when the index folder was rebuilt since this session last looked at it."""
    try:
        path = confined_path(index_path(), SETTINGS.app_roots)
    except InspectorError:
        return False
    seen = st.session_state.get("seen_build")
    now = (path, live_build_name(path))
    st.session_state.seen_build = now
    return seen is not None and seen[0] == now[0] and seen[1] != now[1]


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
    """The chosen index; else the page's title (the page draws its own after this call), an error box saying what
    is wrong and what to run, and the page stops."""
    _leave_pages_folder_mode()
    try:
        return try_index()
    except InspectorError as exc:
        st.title(st.session_state.get("page_title", "Corpus Inspector"))
        command, found = (exc.command, exc.found) if isinstance(exc, NotAnIndex) else (None, ())
        other = "another index folder in the sidebar"
        st.error(md(str(exc)) + (f"  \nOpen {'it' if len(found) == 1 else 'one'} below, or choose {other}." if found
                                 else f"  \nChoose {other}{', or build one:' if command else '.'}"))
        if command:
            st.code(command, language="bash")
        for n, path in enumerate(found[:5]):  # a click opens it: never opened unasked, in place of the one typed
            st.button(md(f"Open {path}"), key=f"open_found_{n}", on_click=open_folder, args=(path,))
        st.stop()


def open_folder(path: str) -> None:
    """Make `path` the index folder typed in the sidebar (and so the URL's)."""
    st.session_state.index_path = path


@st.cache_data(show_spinner="Computing corpus statistics…", max_entries=8)
def corpus_stats(path: str, build: str):
    return _open(path, build).stats()


def stats():
    path = confined_path(index_path(), SETTINGS.app_roots)
    return corpus_stats(path, live_build_name(path))


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:&=^\"'])")


def md(text: object) -> str:
    """Text made inert for Streamlit's Markdown (labels, captions, errors): every special character escaped. Every
    label, caption or message built from corpus data or a URL goes through this."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def show_error(exc: Exception) -> None:
    st.error(md(str(exc)))


@contextmanager
def stop_on_error() -> Iterator[None]:
    """A block whose InspectorError is the page's answer (a bad link, a refused request): shown in an error box,
    and the page stops there."""
    try:
        yield
    except InspectorError as exc:
        show_error(exc)
        st.stop()


def token_label(token: str) -> str:
    """A token as shown in tables and charts: its repr, so spaces and newlines are visible."""
    return repr(token)


def document_link(doc: int, label: str, **highlight: str) -> None:
    params = {"doc": str(doc), **{k: v for k, v in highlight.items() if v}}
    st.page_link(PAGES["document"], label=label, query_params=params)


def pager(page: int, pages: int, size: int, go, key: str, note: str = "") -> None:
    """Below a page of results: Previous, "page N of M" and Next; past the end, a warning saying so and a way back.
    `go(n)` opens page n (a button's callback: it writes what the page reads its page from, the URL or a widget)."""
    if page > pages:
        st.warning(f"Page {page:,} is past the end: the answer has {pages:,} page(s) of {size}.")
        st.button(f"Go to page {pages:,}", key=f"{key}_last", on_click=go, args=(pages,))
        return
    with st.container(horizontal=True, vertical_alignment="center"):  # wraps in a narrow window, never cuts
        if pages > 1:
            st.button("Previous page", key=f"{key}_previous", disabled=page <= 1, on_click=go, args=(page - 1,))
        st.caption(f"page {page:,} of {pages:,}{f' ({note})' if note else ''}", width="content")
        if pages > 1:
            st.button("Next page", key=f"{key}_next", disabled=page >= pages, on_click=go, args=(page + 1,))


def stop_without_tasks(names) -> None:
    """The annotation pages have nothing to show before a task exists: say where to make one."""
    if not names:
        st.info("No tasks at this index yet: draw a sample and create one.")
        st.page_link(PAGES["sample"], label="Sample", icon=":material/casino:")
        st.stop()
