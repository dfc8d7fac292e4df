"""Sweeps: a grid of models x precisions x formats x devices x threads, converted, timed, evaluated.

``plan`` reads and expands the suite file, ``tasks`` is the work of one cell, ``run`` drives the
phases and writes the results store, and the executors say where work runs: ``local`` (default)
or ``ray_executor`` (a Ray cluster whose nodes advertise their devices as resources).
"""

from edgekit.sweep.plan import SweepError, load_sweep
from edgekit.sweep.run import run_sweep

__all__ = ["SweepError", "load_sweep", "run_sweep", "make_executor"]


def make_executor(name: str, address: str | None = None, devices: list[str] = (), task_timeout: float = 900):
    """The executor that runs a sweep's cells: local processes, or a Ray cluster."""
    if name == "local":
        if address:
            raise SweepError("--address is for --executor ray")
        from edgekit.sweep.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from edgekit.sweep.ray_executor import RayExecutor

        return RayExecutor(address, devices, task_timeout)
    raise SweepError(f"unknown executor '{name}' (known: local, ray)")
