"""Beyond one machine: a build's parts as Ray tasks, and n-gram queries fanned out to Ray actors.

Ray is an optional extra (`pip install 'corpus-inspector[ray]'`): it is imported only when one of these functions
runs, so the rest of the package never needs it. Every node must have this package installed and see the corpus and
the index folders at the same paths (a shared filesystem): tasks and actors open files by the driver's paths.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from index.errors import InspectorError
from index.ngram_index import NgramIndex, Ranges

INSTALL_HINT = "pip install 'corpus-inspector[ray]'"


def _ray():
    try:
        import ray
    except ImportError:
        raise InspectorError(f"Ray is not installed: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None):
    """Ray, initialised once per process: a running Ray is reused as it is; else `ray.init(address)` — None starts
    a local instance (or joins RAY_ADDRESS, as Ray does), "auto" joins the cluster running on this node, "HOST:PORT"
    a head node. Returns the `ray` module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
    except Exception as error:  # noqa: BLE001 - ConnectionError, ValueError for a malformed address, ...
        where = address if address is not None else "a new local instance"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InspectorError(f"cannot connect to Ray at {where}: {reason}") from None
    return ray


def cluster_cpus(address: str | None = None) -> int:
    """CPUs of the whole cluster: how many build parts run at once (two parts are cut per CPU)."""
    return max(1, int(connect(address).cluster_resources().get("CPU", 1)))


def _unwrap(ray, error: BaseException) -> BaseException:
    """The exception a task raised, out of Ray's RayTaskError wrapper: ours as it was, anything else as one line."""
    cause = error.cause if isinstance(error, ray.exceptions.RayTaskError) else error
    if isinstance(cause, InspectorError):
        return cause
    lines = str(cause).strip().splitlines()
    return InspectorError(f"a Ray task failed: {type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": "))


def run_tasks(
    address: str | None,
    function: Callable,
    jobs: Sequence,
    on_done: Callable[[int, object], None] | None = None,
) -> list:
    """`function(job)` for every job as a Ray task of one CPU; the results in job order. `on_done(i, result)` is
    called as each task finishes (in finishing order). The first failure is raised: an InspectorError as the task
    raised it, anything else as one InspectorError line.

    `function` must be importable on every node (a top-level function of an installed package): Ray pickles it by
    reference."""
    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=0)(function)
    refs = [remote.remote(job) for job in jobs]
    index_of = {ref: i for i, ref in enumerate(refs)}
    results: list = [None] * len(refs)
    pending = list(refs)
    # The tasks still running when one fails are not cancelled: in Ray 2.60 a cancel that races a task's completion
    # kills the driver ("Tried to complete task that was not pending", ray-project/ray#54846; it did, in our tests).
    # They run out and their files go with the build's temporary folder.
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            try:
                result = ray.get(ref)
            except Exception as error:  # noqa: BLE001 - Ray's wrappers of any task failure
                raise _unwrap(ray, error) from None
            results[index_of[ref]] = result
            if on_done is not None:
                on_done(index_of[ref], result)
    return results


class _ShardGroup:
    """A Ray actor's state: an `NgramIndex` over a contiguous group of one build's shards (the build folder the
    driver opened, never CURRENT: a rebuild in between cannot mix builds)."""

    def __init__(self, build: str, shards: list[dict], width: int, max_id: int):
        self.engine = NgramIndex(Path(build), shards, width, max_id)

    def find_many(self, queries: np.ndarray, lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return self.engine.find_many(queries, lengths)

    def count_many(self, queries: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
        return self.engine.count_many(queries, lengths)

    def find(self, ids: np.ndarray) -> Ranges:
        return self.engine.find(ids)

    def ready(self) -> bool:
        return True


def _groups(n_shards: int, n_actors: int) -> list[range]:
    """Contiguous shard groups, sizes differing by at most one, in shard order."""
    bounds = np.linspace(0, n_shards, n_actors + 1).round().astype(int)
    return [range(a, b) for a, b in pairwise(bounds.tolist()) if b > a]


class RayNgramIndex:
    """The driver's `NgramIndex` with `count`, `find`, `count_many` and `find_many` answered by Ray actors, each
    holding a contiguous group of the same build's shards; answers are assembled in shard order, in exactly the local
    engine's shapes. Queries are checked by the local engine first, so a bad one is the same InvalidQuery and never
    reaches Ray.

    Everything else (ntd, doc_at, document_tokens, locate, CNF, the ∞-gram pass, ...) is delegated to the local
    engine through `__getattr__`: those verbs read a few ranks or one document, which the driver does faster from
    its own memory-mapped shards than a round trip to an actor would."""

    def __init__(
        self, local: NgramIndex, build: Path, manifest: dict, address: str | None = None, actors: int | None = None
    ):
        ray = connect(address)
        self._ray = ray
        self.local = local
        shards = list(manifest["shards"])
        if actors is None:
            actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
        if isinstance(actors, bool) or not isinstance(actors, int) or actors < 1:
            raise InspectorError(f"ray_actors must be a positive integer, not {actors!r}")
        self.groups = _groups(len(shards), min(actors, len(shards))) if shards else []
        #: actors per shard group: with fewer shards than actors, a group's replicas split a batch's rows
        self.replicas = max(1, actors // len(self.groups)) if self.groups else 1
        actor_class = ray.remote(num_cpus=1, max_restarts=0)(_ShardGroup)
        self.actors = [
            actor_class.remote(
                str(build), [shards[i] for i in group], int(manifest["width"]), int(manifest["tokenizer"]["max_id"])
            )
            for group in self.groups
            for _ in range(self.replicas)
        ]
        try:
            self._get([actor.ready.remote() for actor in self.actors])
        except BaseException:
            self.close()
            raise

    def __getattr__(self, name: str):
        if name == "local":  # not set yet (a failed __init__): no recursion
            raise AttributeError(name)
        return getattr(self.local, name)

    def _actor(self, group: int, replica: int = 0):
        if not self.actors:
            raise InspectorError("this index's Ray actors were released: the index is closed")
        return self.actors[group * self.replicas + replica]

    def _get(self, refs: list):
        try:
            return self._ray.get(refs)
        except Exception as error:  # noqa: BLE001 - Ray's wrappers of any actor failure
            raise _unwrap(self._ray, error) from None

    def _by_group(self, method: str, q: np.ndarray, lengths: np.ndarray | None) -> list[list]:
        """Per shard group, its replicas' answers over contiguous slices of the batch's rows, in row order."""
        cuts = np.linspace(0, len(q), self.replicas + 1).round().astype(int)
        refs = [getattr(self._actor(g, r), method).remote(
                    q[cuts[r]:cuts[r + 1]], None if lengths is None else lengths[cuts[r]:cuts[r + 1]])
                for g in range(len(self.groups)) for r in range(self.replicas)]
        answers = self._get(refs)
        return [answers[g * self.replicas:(g + 1) * self.replicas] for g in range(len(self.groups))]

    def find(self, ids: Sequence[int]) -> Ranges:
        q = self.local._ids(ids)
        parts = self._get([self._actor(g).find.remote(q) for g in range(len(self.groups))])
        return Ranges(tuple(r for part in parts for r in part.by_shard))

    def count(self, ids: Sequence[int]) -> int:
        return self.find(ids).count

    def find_many(self, queries, lengths=None) -> tuple[np.ndarray, np.ndarray]:
        q, lengths = self.local._batch(queries, lengths)
        groups = self._by_group("find_many", q, lengths)
        if not groups:
            empty = np.zeros((0, len(q)), dtype=np.int64)
            return empty, empty.copy()
        return tuple(np.concatenate([np.concatenate([part[i] for part in parts], axis=1) for parts in groups])
                     for i in (0, 1))

    def count_many(self, queries, lengths=None) -> np.ndarray:
        q, lengths = self.local._batch(queries, lengths)
        counts = [np.concatenate(parts) for parts in self._by_group("count_many", q, lengths)]
        return np.sum(counts, axis=0, dtype=np.int64) if counts else np.zeros(len(q), dtype=np.int64)

    def close(self) -> None:
        """Kill the actors (their shards' memory maps go with them)."""
        for actor in self.__dict__.get("actors", []):
            self._ray.kill(actor)
        self.actors = []
