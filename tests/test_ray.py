"""The Ray layer (`inspector.ray_cluster`) on a real local Ray instance of 2 CPUs, started once for the file.

Counts and ranges fanned out to Ray actors must equal the local engine's and a brute-force count over the Parquet
texts (read with pyarrow, tokenized with the index's tokenizer: never the index's files). `run_tasks` runs
`_job_result` below: Ray pickles it by reference, so its workers import `tests.test_ray`; Ray puts only the
driver's working folder on their sys.path, so the fixture gives them the repository root as PYTHONPATH (a
runtime_env), and the file passes from any folder. (The build's job functions live in the installed package.)
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from index.errors import InspectorError, InvalidQuery
from inspector import build_index, open_index

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'corpus-inspector[ray]'")

from inspector.ray_cluster import connect, run_tasks  # noqa: E402  (after the skip: it needs Ray)

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["alpha", "beta", "gamma", "delta", "the", "of", "and", "data"]


@dataclass(frozen=True)
class Job:
    n: int
    fail: str = ""  # "ours": raise InvalidQuery; "other": raise ValueError


def _job_result(job: Job) -> int:
    """A run_tasks job: the square of n, or a failure of the kind asked for."""
    if job.fail == "ours":
        raise InvalidQuery(f"job {job.n} refused on purpose")
    if job.fail == "other":
        raise ValueError(f"job {job.n} broke\nsecond line")
    return job.n * job.n


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        num_cpus=2,
        object_store_memory=200 * 1024**2,
        include_dashboard=False,
        log_to_driver=False,
        # workers import this module (run_tasks' job function) from the repository root, wherever pytest runs from
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    yield ray
    ray.shutdown()


def _write_corpus(folder: Path, seed: int) -> list[str]:
    """Two Parquet files of short documents over a tiny vocabulary (n-grams repeat within and across documents)."""
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25))) for _ in range(70)]
    folder.mkdir(parents=True)
    for part, rows in enumerate((texts[:40], texts[40:])):
        table = pa.table({"id": [f"d{part}-{i}" for i in range(len(rows))], "text": rows})
        pq.write_table(table, folder / f"part-{part}.parquet", row_group_size=16)
    return texts


def _parquet_texts(folder: Path) -> list[str]:
    return [t for f in sorted(folder.glob("*.parquet")) for t in pq.read_table(f, columns=["text"])["text"].to_pylist()]


def _brute_count(docs: list[np.ndarray], query: np.ndarray) -> int:
    n = len(query)
    if n == 0:
        return sum(len(d) for d in docs)
    return sum(
        int((np.lib.stride_tricks.sliding_window_view(d, n) == query).all(axis=1).sum()) for d in docs if len(d) >= n
    )


@pytest.fixture(scope="module", params=[11, 12])
def built(request, tmp_path_factory):
    """A small index of 3-5 shards, and the documents' token ids from the Parquet texts."""
    root = tmp_path_factory.mktemp(f"ray-{request.param}")
    _write_corpus(root / "corpus", request.param)
    out = root / "index"
    build_index([root / "corpus"], out, shard_tokens=300, fulltext=False)
    with open_index(out) as index:
        docs = [np.asarray(index.tokenizer.encode(t), dtype=np.int64) for t in _parquet_texts(root / "corpus")]
        assert 3 <= len(index.engine.shards) <= 5, len(index.engine.shards)
    return out, docs


def _queries(docs: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """n-grams taken from the documents (some crossing a document boundary when joined), plus a few absent ones."""
    rng = random.Random(seed)
    flat = np.concatenate(docs)
    found = []
    for _ in range(60):
        n = rng.randint(1, 5)
        at = rng.randrange(0, len(flat) - n)
        found.append(flat[at : at + n])
    absent = [np.array([50000, 50001]), np.array([int(flat[0]), 49999])]
    return found + absent


@pytest.mark.parametrize("actors", [None, 1])  # None: one per CPU, 2 here
def test_counts_and_ranges_equal_local_and_brute_force(local_ray, built, actors):
    out, docs = built
    queries = _queries(docs, 3)
    width = max(len(q) for q in queries)
    table = np.zeros((len(queries), width), dtype=np.int64)
    for r, q in enumerate(queries):
        table[r, : len(q)] = q
    lengths = np.array([len(q) for q in queries])
    truth = np.array([_brute_count(docs, q) for q in queries])
    assert truth.sum() and (truth == 0).any()
    with open_index(out) as local, open_index(out, ray="auto", ray_actors=actors) as remote:
        assert type(remote.engine).__name__ == "RayNgramIndex"
        assert len(remote.engine.actors) == (actors or 2)
        counts = remote.engine.count_many(table, lengths)
        assert counts.dtype == np.int64 and counts.shape == (len(queries),)
        assert counts.tolist() == truth.tolist() == local.engine.count_many(table, lengths).tolist()
        lo, hi = remote.engine.find_many(table, lengths)
        local_lo, local_hi = local.engine.find_many(table, lengths)
        assert lo.shape == local_lo.shape == (len(local.engine.shards), len(queries))
        assert (lo == local_lo).all() and (hi == local_hi).all()
        assert remote.count_many(table, lengths).tolist() == truth.tolist()
        for q, expected in zip(queries, truth):
            assert remote.engine.find(q.tolist()) == local.engine.find(q.tolist())
            assert remote.engine.count(q) == expected
        assert remote.engine.count([]) == _brute_count(docs, np.zeros(0, np.int64)) == local.engine.count([])
        # delegated verbs answer from the driver's engine
        assert remote.engine.n_documents == local.engine.n_documents
        here, there = remote.engine.ntd(queries[0].tolist()), local.engine.ntd(queries[0].tolist())
        assert here.prompt_count == there.prompt_count == truth[0] and (here.counts == there.counts).all()
        assert (remote.engine.document_tokens(1) == docs[1]).all()
        assert remote.count(ids=queries[0].tolist()).count == truth[0]


def test_one_shard_is_split_by_rows_among_actors(local_ray, built, tmp_path):
    """With fewer shards than actors, the actors holding a group split a batch's rows: all stay busy."""
    out, docs = built
    with open_index(out) as index:
        corpus = Path(index.manifest.sources[0].path).parent
    build_index([corpus], tmp_path / "one", fulltext=False)
    queries = _queries(docs, 4)
    table = np.zeros((len(queries), max(map(len, queries))), dtype=np.int64)
    for r, q in enumerate(queries):
        table[r, : len(q)] = q
    lengths = np.array([len(q) for q in queries])
    with open_index(tmp_path / "one") as local, open_index(tmp_path / "one", ray="auto", ray_actors=2) as remote:
        assert len(local.engine.shards) == 1 and remote.engine.replicas == 2 and len(remote.engine.actors) == 2
        assert remote.engine.count_many(table, lengths).tolist() == [_brute_count(docs, q) for q in queries]
        lo, hi = remote.engine.find_many(table, lengths)
        local_lo, local_hi = local.engine.find_many(table, lengths)
        assert (lo == local_lo).all() and (hi == local_hi).all() and lo.shape == (1, len(queries))
        assert remote.engine.find(queries[0].tolist()) == local.engine.find(queries[0].tolist())


def test_invalid_queries_raise_the_same_error(local_ray, built):
    out, _ = built
    bad = [
        ("count_many", ([[1, 2], [3, 50257]],)),  # past max_id
        ("count_many", ([[1, -2]],)),
        ("count_many", ([[1.5, 2.0]],)),
        ("find_many", ([1, 2, 3],)),  # 1-D batch
        ("find_many", ([[1, 2]], [3])),  # length past the row
        ("find", ([[1, 2]],)),
        ("count", ([70000],)),
    ]
    with open_index(out) as local, open_index(out, ray="auto") as remote:
        for verb, args in bad:
            with pytest.raises(InvalidQuery) as expected:
                getattr(local.engine, verb)(*args)
            with pytest.raises(InvalidQuery) as through_ray:
                getattr(remote.engine, verb)(*args)
            assert str(through_ray.value) == str(expected.value)


def test_close_kills_the_actors(local_ray, built):
    out, _ = built
    index = open_index(out, ray="auto")
    actors = list(index.engine.actors)
    assert ray.get([a.ready.remote() for a in actors]) == [True] * len(actors)
    index.close()  # ray.kill is asynchronous: a call sent just after it may still be answered
    for actor in actors:
        deadline = time.monotonic() + 30
        with pytest.raises(ray.exceptions.RayActorError):
            while time.monotonic() < deadline:
                ray.get(actor.ready.remote(), timeout=30)
                time.sleep(0.05)
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:  # their CPUs are free again
        time.sleep(0.05)
    assert ray.available_resources().get("CPU", 0) == 2
    with pytest.raises(InspectorError, match="closed"):
        index.engine.count_many([[1, 2]])


def test_run_tasks_in_order_with_progress(local_ray):
    seen = []
    jobs = [Job(n) for n in range(7)]
    results = run_tasks(None, _job_result, jobs, on_done=lambda i, r: seen.append((i, r)))
    assert results == [n * n for n in range(7)]
    assert sorted(seen) == [(n, n * n) for n in range(7)]
    assert run_tasks("auto", _job_result, []) == []


def test_run_tasks_raises_our_error_and_wraps_others(local_ray):
    with pytest.raises(InvalidQuery, match="^job 2 refused on purpose$") as ours:
        run_tasks(None, _job_result, [Job(1), Job(2, "ours"), Job(3)])
    assert type(ours.value) is InvalidQuery
    with pytest.raises(InspectorError, match="^a Ray task failed: ValueError: job 4 broke$") as other:
        run_tasks(None, _job_result, [Job(1), Job(4, "other")])
    assert "\n" not in str(other.value)


def test_connect_reuses_the_running_instance(local_ray):
    assert connect("auto") is ray and ray.is_initialized()
    assert ray.cluster_resources()["CPU"] == 2


def test_a_build_on_ray_is_the_local_build(local_ray, tmp_path, monkeypatch):
    """Parts run as Ray tasks: the published n-gram files are byte for byte those of a local build cut into the
    same parts (two per worker), and the index answers as the local one, counts as brute force."""
    texts = _write_corpus(tmp_path / "c", seed=21)
    import inspector.build

    monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)  # parts in worker processes even for a small corpus
    local = build_index([tmp_path / "c"], tmp_path / "local", workers=2, shard_tokens=300)
    steps = []
    remote = build_index([tmp_path / "c"], tmp_path / "ray", workers=2, shard_tokens=300, ray="auto",
                         progress=lambda stage, done, total: steps.append((stage, done, total)))
    assert (remote.parts, remote.shards) == (local.parts, local.shards) and remote.parts == 4
    assert ("read, tokenize, index", 70, 70) in steps
    with open_index(tmp_path / "local") as a, open_index(tmp_path / "ray") as b:
        ngram = {rel: facts.crc32 for rel, facts in a.manifest.files.items() if rel.startswith("shard-")}
        assert len(ngram) == 5 * local.shards
        assert ngram == {rel: facts.crc32 for rel, facts in b.manifest.files.items() if rel.startswith("shard-")}
        docs = [a.tokenizer.encode(t) for t in texts if t]
        for query in (["alpha", "beta"], ["the"], ["data", "of", "and"]):
            ids = a.tokenizer.encode(" " + " ".join(query))
            assert a.engine.count(ids) == b.engine.count(ids) == _brute_count([np.array(d) for d in docs],
                                                                              np.array(ids))
        assert [h.doc for h in a.search("alpha").hits] == [h.doc for h in b.search("alpha").hits]
