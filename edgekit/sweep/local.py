"""The default executor: this machine, no extra dependency.

Conversions run in a process pool sized to the cores (TensorFlow in each child; ``spawn``, never
``fork``, under TensorFlow). Benchmarks run after every conversion has finished, one at a time per
device (the host's alone: nothing else runs here meanwhile), with different devices (an SSH Pi and
the host, say) in parallel. Evaluations run last, in a process pool again: they may share.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Iterator

from edgekit.environment import usable_cores
from edgekit.sweep import tasks
from edgekit.sweep.plan import Cell


def _share_cores(threads: int) -> None:
    """Each conversion process gets its share of the cores: TensorFlow's thread pools default to all
    of them, and N processes x all cores thrash (measured: 2 conversions took 43 s that way, 17 s
    with one thread each, on 2 cores)."""
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = str(threads)


class LocalExecutor:
    """Runs a sweep on this machine: conversions in a process pool, one benchmark per device at a time."""
    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or usable_cores()

    def describe(self) -> dict:
        return {"executor": "local", "workers": self.workers}

    def converts(self, jobs: list[dict]) -> Iterator[tuple[dict, dict]]:
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(jobs))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_share_cores,
                                 initargs=(max(1, self.workers // workers),)) as pool:
            futures = {pool.submit(tasks.convert_model, job["model"], job["weights"], job["pairs"], job["convert"]): job
                       for job in jobs}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def benches(self, cells: list[Cell], path_of) -> Iterator[tuple[Cell, dict]]:
        """One thread per device, each timing its cells one after another."""
        by_device: dict[str, list[Cell]] = {}
        for cell in cells:
            by_device.setdefault(cell.device, []).append(cell)
        out: queue.Queue = queue.Queue()

        def drive(device_cells: list[Cell]) -> None:
            for cell in device_cells:
                outcome = tasks.bench_artifact(str(path_of(cell.artifact)), cell.device, cell.threads, self.bench)
                out.put((cell, outcome))

        threads = [threading.Thread(target=drive, args=(c,), daemon=True) for c in by_device.values()]
        for t in threads:
            t.start()
        for _ in cells:
            yield out.get()
        for t in threads:
            t.join()

    def evals(self, cells: list[Cell], path_of) -> Iterator[tuple[Cell, dict]]:
        if not cells:
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(cells)), mp_context=context) as pool:
            futures = {pool.submit(tasks.eval_artifact, str(path_of(c.artifact)), self.eval["data"],
                                   self.eval.get("limit")): c for c in cells}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def configure(self, bench: dict, eval_: dict) -> None:
        self.bench, self.eval = bench, eval_

    def close(self) -> None:
        pass

