"""The Ray executor (``edgekit[ray]``): a cluster runs the grid; devices are nodes with a resource.

A board joins with ``ray start --address=HEAD:6379 --resources='{"device:rpi4": 1}'``; a benchmark
asks for ``device:rpi4: 1``, so Ray puts it on that board and never two at once. Artifacts travel
as bytes through Ray's object store (no shared disk); each benchmark runs on its node with the
local worker, so its fingerprint is that node's. Evaluations run on the driver's node, where the
data folder is. Phases as in the local executor: convert, then benchmark, then evaluate.

Ray is not a scheduler we wrote: we only declare resources and wait, with a timeout, so a
device no node offers fails up front and a node that vanishes fails its cells, not the sweep.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Iterator

from edgekit.errors import EdgekitError, first_line, write_log
from edgekit.sweep import tasks
from edgekit.sweep.plan import Cell

RESOURCE = "device:{}"


class RayError(EdgekitError):
    """Ray is missing, unreachable, or lacks a device the sweep needs."""


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``address`` (ray.init retries for long)."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayError(f"malformed Ray address '{address}' (expected auto, HOST:PORT or ray://HOST:PORT)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}; start one with "
                       f"'ray start --head' or leave --address out for a local one") from None


def _bench_on_node(data: bytes, suffix: str, device: str, threads: int, bench: dict) -> dict:
    import ray

    folder = tempfile.mkdtemp(prefix="edgekit-ray-")
    path = Path(folder) / f"artifact{suffix}"
    path.write_bytes(data)
    try:
        outcome = tasks.bench_artifact(str(path), "host", threads, bench)
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)
    node = ray.get_runtime_context().get_node_id()
    if "result" in outcome:
        outcome["result"].update(device=device, device_reach=f"ray node {node[:12]}", node=node)
    outcome["node"] = node
    return outcome


def _convert_on_node(model, weights, pairs, convert) -> dict:
    import ray

    outcome = tasks.convert_model(model, weights, pairs, convert, want_bytes=True)
    outcome["node"] = ray.get_runtime_context().get_node_id()
    return outcome


class RayExecutor:
    """Runs a sweep on a Ray cluster: devices are node resources, artifacts travel through the object store."""
    name = "ray"

    def __init__(self, address: str | None = None, devices: list[str] = (), task_timeout: float = 900,
                 local_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise RayError("the ray executor needs Ray: pip install 'edgekit[ray]'") from None
        self.ray = ray
        self.task_timeout = task_timeout
        self.started_here = address is None
        if address:
            _probe(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", ignore_reinit_error=True)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise RayError(f"cannot connect to Ray at {address}: {str(exc).splitlines()[0][:200]}") from None
        else:
            from edgekit.environment import usable_cores

            ray.init(num_cpus=local_cpus or usable_cores(), resources={RESOURCE.format("host"): 1},
                     include_dashboard=False, log_to_driver=False, logging_level="ERROR", ignore_reinit_error=True)
        offered = ray.cluster_resources()
        missing = [d for d in devices if RESOURCE.format(d) not in offered]
        if missing:
            names = sorted(k for k in offered if k.startswith("device:")) or ["none"]
            self.close()
            raise RayError(f"no Ray node offers {', '.join(RESOURCE.format(d) for d in missing)} (nodes offer: "
                           f"{', '.join(names)}); start one with ray start --address=HEAD:6379 "
                           f"--resources='{{\"{RESOURCE.format(missing[0])}\": 1}}'")
        self.driver_node = ray.get_runtime_context().get_node_id()
        self._convert = ray.remote(num_cpus=1, max_retries=0)(_convert_on_node)
        self._bench = ray.remote(num_cpus=0, max_retries=0)(_bench_on_node)
        self._eval = ray.remote(num_cpus=1, max_retries=0)(tasks.eval_artifact)

    def describe(self) -> dict:
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        return {"executor": "ray", "nodes": len(nodes),
                "devices": sorted(k for k in self.ray.cluster_resources() if k.startswith("device:"))}

    def configure(self, bench: dict, eval_: dict) -> None:
        self.bench, self.eval = bench, eval_

    def _stream(self, refs: dict) -> Iterator[tuple[object, dict]]:
        pending = list(refs)
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=1, timeout=self.task_timeout)
            if not ready:
                for ref in pending:
                    self.ray.cancel(ref, force=True)
                    now = time.time()
                    yield refs[ref], {"error": f"no answer within {self.task_timeout:.0f} s (is its node alive?)",
                                      "started": now, "ended": now}
                return
            ref = ready[0]
            try:
                yield refs[ref], self.ray.get(ref)
            except Exception as exc:  # a task that died with its node: one line, the traceback in a log
                now = time.time()
                log = write_log(exc, "a Ray task")
                yield refs[ref], {"error": f"{type(exc).__name__}: {first_line(exc, 200)}"
                                           + (f" (traceback in {log})" if log else ""), "started": now, "ended": now}

    def converts(self, jobs: list[dict]) -> Iterator[tuple[dict, dict]]:
        refs = {self._convert.remote(j["model"], j["weights"], j["pairs"], j["convert"]): j for j in jobs}
        yield from self._stream(refs)

    def benches(self, cells: list[Cell], path_of) -> Iterator[tuple[Cell, dict]]:
        shipped: dict[str, object] = {}  # one object-store copy per artifact, whatever the devices
        refs = {}
        for cell in cells:
            if cell.artifact.key not in shipped:
                shipped[cell.artifact.key] = self.ray.put(Path(path_of(cell.artifact)).read_bytes())
            ref = self._bench.options(resources={RESOURCE.format(cell.device): 1}).remote(
                shipped[cell.artifact.key], Path(path_of(cell.artifact)).suffix, cell.device, cell.threads, self.bench)
            refs[ref] = cell
        yield from self._stream(refs)

    def evals(self, cells: list[Cell], path_of) -> Iterator[tuple[Cell, dict]]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(node_id=self.driver_node, soft=False)
        refs = {self._eval.options(scheduling_strategy=here).remote(str(path_of(c.artifact)), self.eval["data"],
                                                                    self.eval.get("limit")): c for c in cells}
        yield from self._stream(refs)

    def close(self) -> None:
        if self.ray.is_initialized():
            self.ray.shutdown()
