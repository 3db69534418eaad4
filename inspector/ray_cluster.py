"""Beyond one machine: Ray itself (connecting, the cluster's CPUs, a failure as one of our errors) and a build's
parts as Ray tasks. The n-gram queries fanned out to Ray actors are `inspector.ray_engine`.

Ray is an optional extra (`pip install 'corpus-inspector[ray]'`): it is imported only when one of these functions
runs, so the rest of the package never needs it. Every node must have this package installed and see the corpus and
the index folders at the same paths (a shared filesystem): tasks and actors open files by the driver's paths.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from index.errors import InspectorError

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


def task_error(ray, error: BaseException) -> BaseException:
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
                raise task_error(ray, error) from None
            results[index_of[ref]] = result
            if on_done is not None:
                on_done(index_of[ref], result)
    return results
