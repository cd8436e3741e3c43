"""Independent jobs on several processes or machines: Ray tasks, or a local process pool.

:func:`run_jobs` calls ``fn(job, common)`` for every job and returns the results in the order
of the jobs, with the engine that ran them:

* ``ray``: every job is a Ray task of one CPU (``ray.remote(num_cpus=1)``). Without an address
  a local Ray instance of ``workers`` CPUs is started for the run and stopped after it; with an
  address (``host:port`` of a head node started with ``ray start --head``, ``ray://...`` of a
  Ray client server, or ``auto``) the run joins that cluster, which must have spikeforge
  installed on every node. ``common`` is put in the object store once.
* ``pool``: a :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
  (started fresh, ``spawn``), each given ``common`` once when it starts.
* ``serial``: in this process, one job after another (what one worker without Ray means).

``engine=None`` chooses Ray when it can be imported and falls back to the pool, saying so. A
job that raises does not stop the others: its result is a :class:`JobFailed` with the error.
"""

import concurrent.futures
import logging
import multiprocessing
import os
import socket
import sys
import threading
from typing import NamedTuple

__all__ = ["ENGINES", "EngineError", "JobFailed", "Ran", "check_address", "ray_available",
           "run_jobs"]

ENGINES = ("ray", "pool", "serial")
#: how long joining a cluster may take before it is given up
CONNECT_SECONDS = 30
INSTALL = "pip install 'spikeforge[ray]'"


class EngineError(RuntimeError):
    """The engine cannot run: Ray missing, a cluster that does not answer. Says what to do."""


class JobFailed(NamedTuple):
    """A job that raised instead of returning: ``error`` is ``"Type: message"``."""

    error: str


class Ran(NamedTuple):
    """What :func:`run_jobs` returns: results in job order, the engine, the worker count."""

    results: list
    engine: str
    workers: int


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _say(message):
    print(message, file=sys.stderr, flush=True)


def run_jobs(fn, jobs, workers=1, address=None, engine=None, progress=None, *, common=None,
             on_result=None, log=_say) -> Ran:
    """Run ``fn(job, common)`` for every job of ``jobs``; see the module.

    ``fn`` must be a module-level function (it is sent to the workers by reference).
    ``progress(done, total)`` is called as jobs finish, ``on_result(index, result)`` with each
    result as it arrives (in completion order), ``log(message)`` with what the engine says.
    """
    jobs = list(jobs)
    if engine not in (None, *ENGINES):
        raise EngineError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise EngineError(f"workers must be an integer >= 1, not {workers!r}")
    if address is not None and engine in ("pool", "serial"):
        raise EngineError(f"--address {address} joins a Ray cluster: it needs the ray engine, "
                          f"not {engine}")
    if engine in (None, "ray") and not ray_available():
        if engine == "ray" or address is not None:
            what = "--engine ray" if engine == "ray" else f"--address {address}"
            raise EngineError(f"{what} needs Ray, which is not installed: {INSTALL}")
        engine = "pool"
        count = workers or os.cpu_count() or 1
        log(f"ray is not installed: running on a local process pool of {count} workers; "
            f"{INSTALL}")
    engine = engine or "ray"
    results = [None] * len(jobs)
    done = 0

    def finished(index, result):
        nonlocal done
        results[index] = result
        done += 1
        if on_result:
            on_result(index, result)
        if progress:
            progress(done, len(jobs))

    if progress:
        progress(0, len(jobs))
    if engine == "ray":
        count = _run_ray(fn, jobs, workers, address, common, finished)
    elif engine == "pool":
        count = workers or os.cpu_count() or 1
        _run_pool(fn, jobs, count, common, finished)
    else:
        count = 1
        for index, job in enumerate(jobs):
            finished(index, _call(fn, job, common))
    return Ran(results, engine, count)


def _failure(exc) -> JobFailed:
    cause = getattr(exc, "cause", None)  # a RayTaskError carries the job's own exception
    exc = cause if isinstance(cause, BaseException) else exc
    return JobFailed(f"{type(exc).__name__}: {exc}")


def _call(fn, job, common):
    try:
        return fn(job, common)
    except Exception as exc:  # a failed job is a result; the others go on
        return _failure(exc)


# --- process pool -----------------------------------------------------------------------------

_COMMON = None


def _set_common(common):
    global _COMMON
    _COMMON = common


def _pool_call(fn, job):
    return _call(fn, job, _COMMON)


def _run_pool(fn, jobs, workers, common, finished):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                initializer=_set_common,
                                                initargs=(common,)) as pool:
        futures = {pool.submit(_pool_call, fn, job): index for index, job in enumerate(jobs)}
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # the worker process died (killed, out of memory)
                    result = _failure(exc)
                finished(futures[future], result)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# --- Ray --------------------------------------------------------------------------------------

def _host_port(address):
    """``(host, port)`` of a cluster address (``host:port``, ``ray://host:port``; the port
    defaults to Ray's 6379, or 10001 for ``ray://``)."""
    scheme, _, rest = address.rpartition("://")
    host, colon, port = rest.rpartition(":")
    if not colon:
        host, port = rest, ("10001" if scheme == "ray" else "6379")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise EngineError(f"--address {address!r} is not a cluster address: give host:port of "
                          "the Ray head node (what `ray start --head` prints, e.g. "
                          "10.0.0.5:6379), ray://host:10001, or auto")
    return host, int(port)


def check_address(address, timeout=5.0):
    """Refuse quickly an address where nothing answers (``ray.init`` would retry for minutes)."""
    if address == "auto":
        return
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise EngineError(
            f"cannot reach a Ray cluster at {address} ({reason}). Start one there with "
            "`ray start --head` (it prints the address to pass), check the host, port and "
            "firewall, or leave out --address to run on a local Ray instance") from None


def _ray_call(fn, job, common):
    return _call(fn, job, common)


def _connect(ray, workers, address):
    """``ray.init`` a local instance of ``workers`` CPUs, or join ``address`` (given up after
    :data:`CONNECT_SECONDS`)."""
    quiet = dict(log_to_driver=False, logging_level=logging.WARNING)
    if address is None:
        ray.init(address="local", num_cpus=workers or os.cpu_count() or 1,
                 include_dashboard=False, **quiet)
        return
    check_address(address)
    errors = []

    def join():
        try:
            ray.init(address=address, **quiet)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=join, daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS)
    if thread.is_alive():
        raise EngineError(f"{address} did not answer as a Ray cluster within {CONNECT_SECONDS} "
                          "s: is it the head node's GCS address (`ray status` on the head "
                          "prints it), and the same Ray version as here "
                          f"({ray.__version__})?")
    if errors:
        raise EngineError(f"cannot join the Ray cluster at {address}: {errors[0]}. Check the "
                          "address (`ray status` on the head node) and that both sides run Ray "
                          f"{ray.__version__}") from None


def _run_ray(fn, jobs, workers, address, common, finished):
    """Jobs as Ray tasks; returns the number of workers they ran on."""
    import ray

    started = not ray.is_initialized()
    if started:
        _connect(ray, workers, address)
    pending = {}
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < 1:
            raise EngineError("the Ray cluster has no CPUs to run jobs on: start workers with "
                              "`ray start --address HEAD:PORT` on each node")
        # a local instance has `workers` CPUs; on a cluster, --workers caps the jobs in flight
        window = workers if address is not None and workers else max(1, len(jobs))
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
        shared = ray.put(common)
        waiting = list(enumerate(jobs))
        while waiting or pending:
            while waiting and len(pending) < window:
                index, job = waiting.pop(0)
                pending[task.remote(fn, job, shared)] = index
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # the worker died, or the task could not be scheduled
                    result = _failure(exc)
                finished(index, result)
        return min(cpus, workers) if address is not None and workers else cpus
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
