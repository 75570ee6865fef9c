"""Where a batch's per-file work runs: in this process, a local process pool, or Dask.

The batch (scribe/batch.py) hands each file to `Executor.submit(fn, *args)`, where `fn`
is a pure function of its picklable arguments (the file and the settings) that returns
a picklable result and writes nothing. So the same work runs anywhere that can read the
file: the local pool is the default; `DaskExecutor` runs it on a dask.distributed
cluster (`pip install 'scribe[dask]'`), whose workers must see the recordings at the
same paths (shared storage). The batch itself stays on this machine: it decides what
to do, and only it writes drafts and the report.

Each executor keeps at most `capacity` files in flight, so memory stays bounded whatever
the folder size.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any, Protocol

# The pool starts workers fresh ("spawn"): no copy of the parent's threads or locks, and
# torch is imported (and its thread count set) in the worker only.
START_METHOD = "spawn"
IN_FLIGHT_PER_WORKER = 1  # files queued beyond those running: 1 keeps a worker busy between files
# Environment of pool workers, set before any numeric library loads (value: threads).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_worker(jobs: int, cpus: int | None = None) -> int:
    """Threads for each of `jobs` workers so that together they do not oversubscribe."""
    return max(1, (cpus or cpu_count()) // max(1, jobs))


class Handle(Protocol):
    """A submitted job: concurrent.futures.Future and distributed.Future both fit."""

    def done(self) -> bool: ...

    def result(self, timeout: float | None = None) -> Any: ...

    def cancel(self) -> bool: ...


class Executor(Protocol):
    capacity: int  # jobs to keep in flight

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Handle: ...

    def wait(self, handles: Iterable[Handle], timeout: float | None) -> tuple[set[Handle], set[Handle]]:
        """(done, not done) once at least one is done or `timeout` seconds pass."""

    def cancel_queued(self, handles: Iterable[Handle]) -> set[Handle]:
        """Cancel jobs that no worker has started; the ones cancelled."""

    def close(self, *, cancel: bool = False) -> None:
        """Release the workers; `cancel` drops jobs not yet started."""


class _Done:
    """The outcome of a job run in this process (the same face as a Future)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        try:
            self._value, self._error = fn(*args), None
        except Exception as exc:  # re-raised by result(), as a Future does
            self._value, self._error = None, exc

    def done(self) -> bool:
        return True

    def cancel(self) -> bool:
        return False

    def result(self, timeout: float | None = None) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class SerialExecutor:
    """Runs each job at once in this process: for tests, and for library callers."""

    capacity = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Handle:
        return _Done(fn, args)

    def wait(self, handles: Iterable[Handle], timeout: float | None) -> tuple[set[Handle], set[Handle]]:
        return set(handles), set()

    def cancel_queued(self, handles: Iterable[Handle]) -> set[Handle]:
        return set()

    def close(self, *, cancel: bool = False) -> None:
        pass


def _init_worker(threads: int) -> None:
    """A pool worker: a fixed thread budget, and Ctrl-C left to the batch (it finishes the file)."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    # numba (Whisper's word timings) would otherwise reset the shared OpenMP pool to all CPUs
    os.environ["NUMBA_NUM_THREADS"] = str(min(threads, cpu_count()))
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessExecutor:
    """A local pool of `jobs` worker processes, started at the first submit (so a batch with
    nothing to do starts none). Each worker keeps its loaded model between files."""

    def __init__(self, jobs: int, *, threads: int):
        self.jobs = max(1, jobs)
        self.threads = threads
        self.capacity = self.jobs * (1 + IN_FLIGHT_PER_WORKER)
        self._pool: cf.ProcessPoolExecutor | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Handle:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=multiprocessing.get_context(START_METHOD),
                initializer=_init_worker, initargs=(self.threads,))
        return self._pool.submit(fn, *args)

    def wait(self, handles: Iterable[Handle], timeout: float | None) -> tuple[set[Handle], set[Handle]]:
        done, pending = cf.wait(list(handles), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done), set(pending)

    def cancel_queued(self, handles: Iterable[Handle]) -> set[Handle]:
        return {h for h in handles if h.cancel()}  # False once a worker has it

    def close(self, *, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            if cancel:  # a second Ctrl-C: do not wait for the files in hand
                for proc in list(getattr(self._pool, "_processes", {}).values()):
                    proc.terminate()
            self._pool = None


class DaskExecutor:
    """Jobs on a dask.distributed cluster: `address` of a scheduler, a Client, or None for a
    LocalCluster of `jobs` single-threaded worker processes. Needs `scribe[dask]`."""

    def __init__(self, address: Any = None, *, jobs: int = 1, capacity: int | None = None):
        try:
            import distributed
        except ImportError as exc:
            from .errors import UsageError

            raise UsageError("the Dask executor needs dask.distributed: pip install 'scribe[dask]'") from exc
        self._distributed = distributed
        self._own: list[Any] = []
        if isinstance(address, distributed.Client):
            self.client = address
        else:
            if address is None:
                cluster = distributed.LocalCluster(n_workers=max(1, jobs), threads_per_worker=1,
                                                   processes=True, dashboard_address=None)
                self._own.append(cluster)
                address = cluster
            self.client = distributed.Client(address)
            self._own.insert(0, self.client)
        workers = len(self.client.scheduler_info().get("workers", {})) or max(1, jobs)
        self.capacity = capacity or workers * (1 + IN_FLIGHT_PER_WORKER)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Handle:
        # pure=False: two runs of the same file are two jobs (Dask would otherwise share one)
        return self.client.submit(fn, *args, pure=False)

    def wait(self, handles: Iterable[Handle], timeout: float | None) -> tuple[set[Handle], set[Handle]]:
        handles = list(handles)
        try:
            done, pending = self._distributed.wait(handles, timeout=timeout, return_when="FIRST_COMPLETED")
        except self._distributed.TimeoutError:
            return set(), set(handles)
        return set(done), set(pending)

    def cancel_queued(self, handles: Iterable[Handle]) -> set[Handle]:
        return set()  # Dask cannot tell a queued task from one running: all finish

    def close(self, *, cancel: bool = False) -> None:
        for obj in self._own:
            obj.close()
        self._own = []
