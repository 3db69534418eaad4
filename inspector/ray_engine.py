"""N-gram queries fanned out to Ray actors: each holds a contiguous group of one build's shards (see
`inspector.ray_cluster` for Ray itself: it is imported only when an index is opened with `ray=`)."""
from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from index.errors import InspectorError
from index.layout import Manifest, ShardRecord
from index.ngram_index import NgramIndex, Ranges

from .ray_cluster import connect, task_error


class _ShardGroup:
    """A Ray actor's state: an `NgramIndex` over a contiguous group of one build's shards (the build folder the
    driver opened, never CURRENT: a rebuild in between cannot mix builds)."""

    def __init__(self, build: str, shards: list[ShardRecord], width: int, max_id: int):
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
        self, local: NgramIndex, build: Path, manifest: Manifest, address: str | None = None, actors: int | None = None
    ):
        ray = connect(address)
        self._ray = ray
        self.local = local
        shards = manifest.shards
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
                str(build), [shards[i] for i in group], manifest.width, manifest.tokenizer.max_id
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
            raise task_error(self._ray, error) from None

    def _by_group(self, method: str, q: np.ndarray, lengths: np.ndarray | None) -> list[list]:
        """Per shard group, its replicas' answers over contiguous slices of the batch's rows, in row order."""
        cuts = np.linspace(0, len(q), self.replicas + 1).round().astype(int)
        refs = [getattr(self._actor(g, r), method).remote(
                    q[cuts[r]:cuts[r + 1]], None if lengths is None else lengths[cuts[r]:cuts[r + 1]])
                for g in range(len(self.groups)) for r in range(self.replicas)]
        answers = self._get(refs)
        return [answers[g * self.replicas:(g + 1) * self.replicas] for g in range(len(self.groups))]

    def find(self, ids: Sequence[int]) -> Ranges:
        q = self.local.checked_ids(ids)
        parts = self._get([self._actor(g).find.remote(q) for g in range(len(self.groups))])
        return Ranges(tuple(r for part in parts for r in part.by_shard))

    def count(self, ids: Sequence[int]) -> int:
        return self.find(ids).count

    def find_many(self, queries, lengths=None) -> tuple[np.ndarray, np.ndarray]:
        q, lengths = self.local.checked_batch(queries, lengths)
        groups = self._by_group("find_many", q, lengths)
        if not groups:
            empty = np.zeros((0, len(q)), dtype=np.int64)
            return empty, empty.copy()
        return tuple(np.concatenate([np.concatenate([part[i] for part in parts], axis=1) for parts in groups])
                     for i in (0, 1))

    def count_many(self, queries, lengths=None) -> np.ndarray:
        q, lengths = self.local.checked_batch(queries, lengths)
        counts = [np.concatenate(parts) for parts in self._by_group("count_many", q, lengths)]
        return np.sum(counts, axis=0, dtype=np.int64) if counts else np.zeros(len(q), dtype=np.int64)

    def close(self) -> None:
        """Kill the actors (their shards' memory maps go with them)."""
        for actor in self.__dict__.get("actors", []):
            self._ray.kill(actor)
        self.actors = []
