"""Per-clip work as Ray tasks: the executor behind `compute.executor: ray`.

The stage's own per-clip function runs unchanged in Ray tasks (a few clips each, see chunk_size), so
files, atomic writes, failure records and manifests are those of the local pool. A worker that dies
mid-task (killed, out of memory) has its task retried up to `compute.max_retries` times, then its clips
are recorded as failed; a half-written temporary file never passes as done (the runner removes
leftovers). Every node must see the stage's input and output folders at the same paths (a shared
filesystem), and run the same checkout of this repository.

Concurrency: at most `workers` tasks per node are in flight at a time, each working through its clips
one after another, so a stage's politeness setting (e.g. `download.workers` against YouTube's
per-address limits) holds per node, as it does on one machine; `compute.cpus_per_task` reserves cores
per task.
"""
from __future__ import annotations

import os
import socket
from typing import Callable, Iterator

from src.config import ParamError
from src.errors import machine_error
from src.utils import repo_root

_INITIALISED: set = set()  # per worker process: the initializers already run there


def _call(fn: Callable, rows: list[dict], initializer, initargs) -> list[dict]:
    """Runs in a Ray worker: the stage's initializer once per process (e.g. one MediaPipe graph), then fn on
    each row of the chunk in turn; a row whose fn raises is recorded as failed, the others go on."""
    if initializer is not None:
        key = (initializer.__module__, initializer.__qualname__, repr(initargs))
        if key not in _INITIALISED:
            initializer(*initargs)
            _INITIALISED.add(key)
    out = []
    for row in rows:
        try:
            out.append(fn(row))
        except Exception as exc:  # noqa: BLE001 - one clip's error must not take its chunk down
            if machine_error(exc):  # a full disk is the machine's, not the clip's: it ends the stage
                raise
            out.append(_failed(row, f"error in the task: {type(exc).__name__}: {exc}"[:250]))
    return out


def chunk_size(n_rows: int, slots: int) -> int:
    """Clips per Ray task. One task per clip costs a driver round trip per clip, which measured +18% on
    trim (about 25 ms a clip per core) on 2 cores; chunks of up to MAX_CHUNK clips amortise it, and at least
    16 chunks per slot keep the last ones balanced across workers."""
    return max(1, min(MAX_CHUNK, n_rows // (slots * 16)))


MAX_CHUNK = 16


def _reachable(address: str, timeout: float = 3.0) -> None:
    """Fail within seconds, naming the address, instead of letting Ray wait for a cluster that is not there."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        raise ParamError(f"params.yaml: compute.address: cannot reach a Ray cluster at {address!r} "
                         f"within {timeout:g} s ({exc}); start one with `ray start --head` or fix the address") from exc


def connect(compute):
    """ray, connected: to compute.address (a head node's host:port, `auto`, or a ray:// client address), or
    to a new local cluster when it is null."""
    try:
        import ray
    except ImportError as exc:
        raise ParamError("params.yaml: compute.executor: 'ray' needs Ray: pip install 'ray==2.60.0' "
                         "(requirements.txt pins it)") from exc
    if ray.is_initialized():
        return ray
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root()),
                                                                     os.environ.get("PYTHONPATH")]))}}
    kwargs = dict(runtime_env=env, log_to_driver=False, include_dashboard=False, configure_logging=False)
    if compute.address in (None, "", "local"):
        ray.init(num_cpus=os.cpu_count(), **kwargs)
    elif compute.address == "auto":
        try:
            ray.init(address="auto", **kwargs)
        except ConnectionError as exc:
            raise ParamError(f"params.yaml: compute.address: 'auto' found no running Ray cluster on this machine "
                             f"({exc}); start one with `ray start --head`") from exc
    else:
        _reachable(compute.address)
        kwargs.pop("include_dashboard")
        ray.init(address=compute.address, **kwargs)
    return ray


def _failed(row: dict, reason: str) -> dict:
    return {**{k: row[k] for k in ("clip_id", "label", "split") if k in row}, "status": "failed", "reason": reason,
            "bytes": 0}


def map_ray(fn: Callable, rows: list[dict], workers: int, compute, initializer=None,
            initargs=()) -> Iterator[tuple[dict, dict]]:
    """Yields (row, result) as tasks finish, like the local pool."""
    ray = connect(compute)
    nodes = max(1, sum(1 for n in ray.nodes() if n.get("Alive")))
    limit = max(1, workers) * nodes
    task = ray.remote(num_cpus=compute.cpus_per_task, max_retries=compute.max_retries)(_call)
    fn_ref = ray.put(fn)
    size = chunk_size(len(rows), limit)
    pending, todo = {}, [rows[i:i + size] for i in range(0, len(rows), size)]
    todo.reverse()  # pop() from the end keeps the input order
    while todo or pending:
        while todo and len(pending) < limit:
            chunk = todo.pop()
            pending[task.remote(fn_ref, chunk, initializer, initargs)] = chunk
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            chunk = pending.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the chunk itself failed (e.g. its initializer raised)
                lines = [line for line in str(exc).strip().splitlines() if line.strip()]
                reason = f"error in the task: {lines[-1][:250] if lines else type(exc).__name__}"
                results = [_failed(row, reason) for row in chunk]
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                    ray.exceptions.TaskCancelledError, ray.exceptions.ObjectLostError) as exc:
                results = [_failed(row, f"worker died after {compute.max_retries} retries: {type(exc).__name__}")
                           for row in chunk]
            yield from zip(chunk, results)
