"""Accuracy-controlled mixed precision: keep the fewest layers float until int8 meets a target.

``convert --int8 --max-drop 0.5`` (top-1 drop in points on labelled check images),
``--min-agreement 0.95`` (top-1 agreement with Keras) or ``--min-sqnr 20`` (logit SQNR in dB, the
one target a random-weight model has): the layers are ranked by their int8 error
(RMSE / quantization step, from the converters' own debuggers run on calibration images, so the
check images judge the result without having chosen it), then kept float one at a time, worst
first, until the target is met on the check images. TFLite keeps them float through the
QuantizationDebugger's ``denylisted_nodes``, ONNX through ``quantize_static``'s
``nodes_to_exclude``. Each kept layer's cost is measured: bytes, and latency in the format's own
runtime (LiteRT or ONNX Runtime), against the same conversion path with no layer kept float, that
model and every step timed in one interleaved run in this process. If the target cannot be met
within ``MAX_KEPT`` layers, the best step reached is kept and the sidecar says so.

NNCF's accuracy-controlled quantization (``max_drop``) answers the same question for OpenVINO; what
this adds is the latency of each float layer beside its accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


MAX_KEPT = 12  # layers tried at most (each step is one conversion)
TIMING = {"rounds": 5, "runs": 20, "warmup": 5}  # per model, interleaved


@dataclass(frozen=True)
class Target:
    """What the mixed model must reach on the check images."""

    max_drop: float | None = None  # top-1 points below Keras, at most
    min_agreement: float | None = None  # top-1 agreement with Keras, at least
    min_sqnr: float | None = None  # SQNR of the logits against Keras (dB), at least: for random weights
    accuracy: str = "top-1"  # what the drop is of (the task's: top-1, mAP, mIoU)

    @property
    def active(self) -> bool:
        """A target was asked for (--max-drop, --min-agreement or --min-sqnr)."""
        return self.max_drop is not None or self.min_agreement is not None or self.min_sqnr is not None

    def met(self, parity: dict) -> bool:
        ok = True
        if self.max_drop is not None:
            ok &= parity.get("drop_pts") is not None and parity["drop_pts"] <= self.max_drop
        if self.min_agreement is not None:
            ok &= parity["top1_agreement"] >= self.min_agreement
        if self.min_sqnr is not None:
            ok &= parity["sqnr_db"] >= self.min_sqnr
        return bool(ok)

    def score(self, parity: dict) -> float:
        """Higher is closer to the target (for the best step when none meets it)."""
        if self.max_drop is not None:
            return -parity["drop_pts"]
        if self.min_agreement is not None:
            return parity["top1_agreement"]
        return parity["sqnr_db"]

    def __str__(self) -> str:
        parts = ([f"{self.accuracy} drop <= {self.max_drop:g} pts"] if self.max_drop is not None else []) + \
                ([f"agreement >= {self.min_agreement:.0%}"] if self.min_agreement is not None else []) + \
                ([f"SQNR >= {self.min_sqnr:g} dB"] if self.min_sqnr is not None else [])
        return " and ".join(parts)


def _metrics(parity: dict) -> dict:
    keep = ("top1_agreement", "sqnr_db", "drop_pts", "top1", "reference_top1", "box_iou", "score_error", "map",
            "reference_map", "pixel_agreement", "miou_vs_float")
    return {k: parity[k] for k in keep if k in parity}


def search(exporter, ranking, build: Callable[[list[str]], bytes],
           check: Callable[[Path], dict], plain_parity: dict, target: Target, scratch: str,
           threads: int = 1) -> tuple[bytes | None, dict]:
    """Keep layers float, worst first, until ``target`` is met; returns (the chosen model's bytes, the log).

    ``exporter``: the format's (``export.exporters``: its file extension and runtime); ``ranking``: (layer,
    its tensors) worst first, or a callable giving them (run only when the plain model misses the target); ``build(tensors)``: the mixed model keeping those float; ``check(path)``: parity
    of a model file against the source model on the check images.
    """
    log: dict = {"target": str(target), "ranking": "RMSE/scale of each layer's int8 output on calibration "
                 "images (the converter's debugger); judged on the check images", "plain": _metrics(plain_parity),
                 "steps": [], "met": target.met(plain_parity)}
    if log["met"]:
        log["note"] = "the plain int8 model already meets the target: no layer kept float"
        return None, log
    if callable(ranking):
        ranking = ranking()
    suffix = exporter.extension
    # Costs are measured against the same conversion path with no layer kept float: the mixed models come
    # from the converter's debugger (TFLite), not the plain int8 path, and on one host that path alone came
    # out 152 bytes smaller than the plain model, so a delta against the plain model priced the path.
    models: list[bytes] = [build([])]
    paths = [Path(scratch) / f"keep-0{suffix}"]
    paths[0].write_bytes(models[0])
    tensors: list[str] = []
    for layer, its in ranking[:MAX_KEPT]:
        tensors += its
        data = build(list(tensors))
        path = Path(scratch) / f"keep-{len(models)}{suffix}"
        path.write_bytes(data)
        parity = check(path)
        models.append(data)
        paths.append(path)
        log["steps"].append({"kept": len(models) - 1, "layer": layer, "tensors": its, **_metrics(parity),
                             "size_bytes": len(data), "size_delta_bytes": len(data) - len(models[-2])})
        if target.met(parity):
            log["met"] = True
            break
    if not log["steps"]:
        log["note"] = "no layer to keep float"
        return None, log
    best = len(log["steps"]) if log["met"] else 1 + int(np.argmax([target.score(s) for s in log["steps"]]))
    log["chosen"] = best
    if not log["met"]:
        log["note"] = (f"not met with up to {len(log['steps'])} layers kept float; kept the best step "
                       f"({best} layer{'s' if best != 1 else ''})")
    log["latency"] = _costs(paths, exporter.runtime, threads)
    for step, ms in zip(log["steps"], log["latency"]["median_ms"][1:]):
        step["median_ms"] = ms
    for i, step in enumerate(log["steps"]):
        step["latency_delta_ms"] = round(log["latency"]["median_ms"][i + 1] - log["latency"]["median_ms"][i], 4)
    log["steps"] = log["steps"][:best] if not log["met"] else log["steps"]
    return models[best], log


def _costs(paths: list[Path], runtime: str, threads: int) -> dict:
    """Median latency of every model file (none kept float first), timed in interleaved rounds in this process."""
    from edgekit.run.runtime import open_runtime
    from edgekit.run.timing import time_runs

    runtimes = [open_runtime(p, runtime=runtime, threads=threads) for p in paths]
    try:
        for rt in runtimes:
            info = rt.inputs[0]
            batch = np.zeros(info.shape, dtype=info.dtype)
            rt.prepare(batch)
            time_runs(rt.invoke, TIMING["warmup"])
        samples: list[list[float]] = [[] for _ in runtimes]
        for r in range(TIMING["rounds"]):
            order = list(range(len(runtimes)))
            order = order[r % len(order):] + order[:r % len(order)]
            for i in order:
                samples[i] += time_runs(runtimes[i].invoke, TIMING["runs"])
        name, version = runtimes[0].name, runtimes[0].version
    finally:
        for rt in runtimes:
            rt.close()
    total = len(samples[0])
    return {"runtime": f"{name} {version}", "threads": threads,
            "median_ms": [round(float(np.median(s)), 4) for s in samples],
            "statistic": f"median of {total} runs per model in {TIMING['rounds']} interleaved rounds after "
                         f"{TIMING['warmup']} warm-ups, in the converting process"}
