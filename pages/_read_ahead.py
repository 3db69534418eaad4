"""The Annotate page's read-ahead: the windows of the next items are read from their Parquet shards in the
background while the annotator reads this one, so a label press shows the next item without waiting for a read.

One cache per app process, shared by every annotator (they often label the same task in the same order), bounded by
entries; a window is keyed by build, document, start and size, so a rebuild never serves another build's text. A
read that fails in the background is simply not cached: the page reads it again and shows the error then."""
from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from inspector import DocumentWindow, InspectorError, document_window

MAX_WINDOWS = 256
AHEAD = 3  # items read ahead of the one shown


class WindowCache:
    def __init__(self) -> None:
        self._windows: OrderedDict[tuple, DocumentWindow] = OrderedDict()
        self._lock = threading.Lock()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotate-read-ahead")

    def window(self, index, doc: int, at: int, size: int) -> DocumentWindow:
        """Characters [at, at + size) of `doc`, from the cache when read ahead."""
        key = (str(index.build), doc, at, size)
        with self._lock:
            if key in self._windows:
                self._windows.move_to_end(key)
                return self._windows[key]
        window = document_window(index, doc, at, size)
        with self._lock:
            self._windows[key] = window
            while len(self._windows) > MAX_WINDOWS:
                self._windows.popitem(last=False)
        return window

    def read_ahead(self, index, docs, size: int) -> None:
        """Read the first window of each of `docs` in the background (those not cached yet)."""
        with self._lock:
            missing = [d for d in docs if (str(index.build), d, 0, size) not in self._windows]
        if missing:
            self._reader.submit(self._read, index, missing, size)

    def _read(self, index, docs, size: int) -> None:
        for doc in docs:
            try:
                self.window(index, doc, 0, size)
            except InspectorError:  # read again in the foreground, which shows the error
                pass


@st.cache_resource(show_spinner=False)
def window_cache() -> WindowCache:
    return WindowCache()
