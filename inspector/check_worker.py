"""Benchmark checks for a shared server, run in a worker process of their own.

A check is CPU-bound Python for seconds to minutes. In the server's process it holds the interpreter every other
session's page needs (their pages took 2 s, not 0.6 s, while one ran); in a worker the server only waits on a queue,
and a check that fails hard takes the worker with it, not the server. One worker, so one check runs at a time; the
worker keeps its opened indexes, so only the first check pays for starting it.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue as queues
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from index.errors import InspectorError

from .contamination import ContaminationParams
from .settings import Settings

Progress = Callable[[str, int, int], None]

_progress = None  # in the worker: where progress goes, (check number, stage, done, total)
_opened: dict = {}  # in the worker: (folder, build) -> the opened index


def _start(progress) -> None:
    global _progress
    _progress = progress
    if hasattr(os, "nice"):
        os.nice(10)  # behind the server's own requests for the CPU: a page load goes first


def _check(number: int, folder: str, build: str, settings: Settings, specs: Sequence[tuple[str, dict]],
           params: ContaminationParams) -> tuple[dict, dict[str, list[bytes]]]:
    """In the worker: the check's report as a dict (what the page shows and keeps), in pieces (`_in_pieces`)."""
    from .benchmarks import open_benchmark
    from .contamination import check_contamination
    from .corpus_index import open_index

    index = _opened.get((folder, build))
    if index is None:
        index = open_index(folder, settings=settings)
        if index.build.name != build:
            index.close()
            raise InspectorError(f"{folder} was rebuilt during the check: reload the page and run it again")
        _opened[(folder, build)] = index
        while len(_opened) > 4:  # the indexes checked last stay open
            _opened.pop(next(iter(_opened))).close()
    benchmarks = [open_benchmark(spec, **options) for spec, options in specs]
    report = check_contamination(index, benchmarks, params,
                                 progress=lambda stage, done, total: _progress.put((number, stage, done, total)))
    return _in_pieces(report.as_dict())


_PIECE = 1000  # list elements pickled together


def _in_pieces(data: dict) -> tuple[dict, dict[str, list[bytes]]]:
    """The report with its long lists (items, flagged documents) pickled a thousand elements at a time: the server
    unpickles them one piece at a time, never holding the interpreter long (50,000 items in one piece: 0.5 s)."""
    long = {key for key, value in data.items() if isinstance(value, list) and len(value) > _PIECE}
    pieces = {key: [pickle.dumps(data[key][at : at + _PIECE]) for at in range(0, len(data[key]), _PIECE)]
              for key in long}
    return {key: value for key, value in data.items() if key not in long}, pieces


def _whole(data: dict, pieces: dict[str, list[bytes]]) -> dict:
    for key, parts in pieces.items():
        data[key] = [element for part in parts for element in pickle.loads(part)]
    return data


class CheckWorker:
    """A worker process for benchmark checks, started on first use and again if it dies."""

    def __init__(self):
        self._numbers = itertools.count()
        self._pool = None

    def start(self) -> None:
        """Start the worker process now (the Contamination page does when it opens), so that a check does not pay
        for it, nor do other pages share the CPU with its imports while one runs. Niced from the parent at once: its
        own `_start` runs only after it has imported the package."""
        if self._pool is not None:
            return
        context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._progress = context.Queue()
        self._pool = ProcessPoolExecutor(1, mp_context=context, initializer=_start, initargs=(self._progress,))
        self._pool.submit(int)  # starts the process (it imports the package in the background)
        for pid in list(getattr(self._pool, "_processes", None) or {}):
            try:
                os.setpriority(os.PRIO_PROCESS, pid, max(os.getpriority(os.PRIO_PROCESS, pid), 10))
            except (OSError, AttributeError):  # gone already, or a system without priorities
                pass

    def check(self, index, specs: Sequence[tuple[str, dict]], params: ContaminationParams,
              progress: Progress | None = None) -> dict:
        """`check_contamination(index, [open_benchmark(spec, **options) ...], params).as_dict()`, computed in the
        worker; `progress` is called here, in the caller's thread, as the worker reports."""
        number = next(self._numbers)
        future = self._submit(_check, number, str(index.path), index.build.name, index.settings, list(specs), params)
        while not future.done():
            try:
                said = self._progress.get(timeout=0.2)
            except queues.Empty:
                continue
            if said[0] == number and progress is not None:  # an abandoned check's reports are dropped
                progress(*said[1:])
        try:
            return _whole(*future.result())
        except BrokenProcessPool:
            self._pool = None  # the next check starts a new worker
            raise InspectorError("the check's worker process died (out of memory?); the server is fine: check "
                                 "fewer or smaller files") from None

    def _submit(self, *call):
        """`call` given to the worker; one that died while idle (killed, out of memory) is replaced, once."""
        for _ in range(2):
            self.start()
            try:
                return self._pool.submit(*call)
            except BrokenProcessPool:
                self._pool = None
        raise InspectorError("the check's worker process died as it started; the server is fine: see its log")
