"""Where the time goes: a per-op ledger of an artifact, measured in the benchmark worker.

``profile(paths, ProfileOptions(...))`` is the Python API behind ``edgekit profile``. The worker (on
this machine or over SSH on a device) times each op (``run.op_profile``: one-op models for LiteRT,
ONNX Runtime's own profiler for ONNX); here each row is joined with what else is known of the op:
its MACs and parameters and their shares, the GMAC/s it achieved, its Edge TPU placement (predicted
from Coral's rules, TFLite int8) and flags: **slow** when its share of the time is more than twice
its share of the MACs (and at least 2% of the time), **overhead** for time spent in ops that do no
multiply-adds. Totals by op kind sit beside the MobileNet v1 paper's Table 2, so "where the MACs
are" and "where the time goes" read side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgekit.errors import EdgekitError
from edgekit.measure.identity import describe_artifact
from edgekit.vocab import RUNTIMES

SLOW_FACTOR = 2.0  # time share over MAC share that flags an op as slow
SLOW_MIN_SHARE = 0.02  # ... when it holds at least this share of the time
GAP_LIMIT_PCT = 10.0  # per-op times must sum to within this of the whole-model median, or the table says so

# MobileNet v1 paper (Howard et al. 2017, arXiv:1704.04861), Table 2: resources per layer type.
V1_TABLE2 = {
    "source": "Howard et al. 2017, MobileNets, arXiv:1704.04861, Table 2 (resource per layer type)",
    "kinds": {"pointwise 1x1": (94.86, 74.59), "depthwise": (3.06, 1.06), "first conv": (1.19, 0.02),
              "FC": (0.18, 24.33)},  # (mult-adds %, parameters %)
}
KIND_ORDER = ("first conv", "depthwise", "pointwise 1x1", "conv 3x3", "conv 5x5", "SE", "FC", "pooling",
              "activation", "add", "mul", "quantize/dequantize", "other")


@dataclass(kw_only=True)
class ProfileOptions:
    """How to profile: device, threads, runs per op and rounds."""
    device: str = "host"
    host: str | None = None
    threads: int | None = None  # None: the device profile's
    runs: int = 30
    rounds: int = 3
    xnnpack: bool = True
    optimization: str = "all"
    allow_modified: bool = False  # profile an artifact that no longer matches its sidecar, as a foreign file
    roofs: Path | None = None  # the device roofs file (measure.roofline; None: its default place)
    progress: Callable | None = None


def profile(paths: list[Path], opts: ProfileOptions) -> list[dict]:
    """One ledger per artifact (each profiled in its own worker)."""
    from edgekit.devices import get_device
    from edgekit.measure import protocol
    from edgekit.measure.bench import Worker
    from edgekit.run.tflite_graph import looks_edgetpu_compiled

    if (opts.threads is not None and opts.threads < 1) or opts.runs < 1 or opts.rounds < 1:
        raise EdgekitError("--threads, --runs and --rounds must be >= 1")
    device = get_device(opts.device, host=opts.host)
    device.check()
    threads = opts.threads or device.profile.threads
    ledgers = []
    for path in paths:
        identity = describe_artifact(path, opts.allow_modified)
        runtime = RUNTIMES.get(path.suffix.lower())
        if runtime is None:
            raise EdgekitError(f"cannot profile {path.name}: expected a .tflite or .onnx file")
        if looks_edgetpu_compiled(path):
            raise EdgekitError(f"{path.name} is Edge TPU compiler output: its ops run inside edgetpu-custom-op; "
                               f"profile its CPU twin (the file before compiling)")
        if device.delegate:
            raise EdgekitError(f"device '{device.name}' runs a delegate ({device.delegate}); per-op profiles are "
                               f"for CPU kernels (use --device host or a CPU board)")
        device.admit(path)
        staged = device.stage(path)
        if opts.progress:
            opts.progress(f"profiling {path.name}")
        worker = Worker(device.worker_command(), path.name)  # bench's worker and protocol, one command more
        try:
            answer = worker.ask(protocol.Profile(artifact=staged, runtime=runtime, threads=threads, runs=opts.runs,
                                                 rounds=opts.rounds, xnnpack=opts.xnnpack,
                                                 optimization=opts.optimization)).as_dict()
        finally:
            worker.close()
        ledgers.append(_with_roof(ledger(path, answer, threads, device, identity), path, opts.roofs, opts.xnnpack))
    _align_int8_onnx(ledgers)
    return ledgers


def _with_roof(lg: dict, path: Path, roofs: Path | None, xnnpack: bool = True) -> dict:
    """The ledger held to its device's roof (``measure.roofline``) when one was measured; else why not."""
    from edgekit.measure.roofline import apply, roof_for

    if path.suffix.lower() != ".tflite":
        lg["roof"] = {"missing": "rooflines are for LiteRT ledgers (.tflite)"}
        return lg
    if not xnnpack:
        lg["roof"] = {"missing": "the roofs are XNNPACK's (edgekit roof times its kernels with it): not for --no-xnnpack"}
        return lg
    roof = roof_for(lg, roofs)
    if roof is None:
        lg["roof"] = {"missing": f"no roof measured for this device, CPU, runtime and thread count: run "
                                 f"'edgekit roof --device {lg['device']} --threads {lg['threads']}'"}
        return lg
    return apply(lg, path, roof)


def ledger(path: Path, measured: dict, threads: int, device, identity: dict | None = None) -> dict:
    """The joined, flagged ledger of one artifact from the worker's raw per-op times."""
    rows = measured["ops"]
    placement = _edgetpu(path)
    for r in rows:
        r["edgetpu"] = placement.get(r["index"]) if placement else None
    by_kind = _shares(rows)
    identity = identity or describe_artifact(path)
    gap = measured["gap_pct"]
    return {
        **identity, "runtime": measured.get("runtime"), "runtime_version": measured.get("runtime_version"),
        "device": device.name, "threads": threads, "method": measured["method"], "kernels": measured.get("kernels"),
        "whole_ms": measured["whole_ms"], "sum_ms": measured["sum_ms"], "gap_pct": gap,
        "within_limit": abs(gap) <= GAP_LIMIT_PCT, "gap_limit_pct": GAP_LIMIT_PCT,
        "invoke_overhead_ms": measured.get("invoke_overhead_ms"), "node_overhead_ms": measured.get("node_overhead_ms"),
        "apportioned": bool(measured.get("apportioned")), "measured_sum_ms": measured.get("measured_sum_ms"),
        "measured_gap_pct": measured.get("measured_gap_pct"), "profiler_sum_ms": measured.get("profiler_sum_ms"),
        "profiler_gap_pct": measured.get("profiler_gap_pct"),
        "profiler_overhead_pct": measured.get("profiler_overhead_pct"), "profiled_ms": measured.get("profiled_ms"),
        "runs_per_op": measured["runs_per_op"], "untimed_ops": measured.get("untimed_ops", []),
        "ops": rows, "by_kind": by_kind, "paper": V1_TABLE2["source"], "environment": measured.get("environment"),
        "median_ms": measured["whole_ms"],
        "statistic": f"per-op medians over {measured['runs_per_op']} runs; whole model median in the same rounds",
    }


def _edgetpu(path: Path) -> dict[int, str] | None:
    """Predicted Edge TPU placement per op index, for int8 TFLite files."""
    if path.suffix.lower() != ".tflite":
        return None
    from edgekit.edgetpu.check import predict
    from edgekit.run.tflite_graph import read_graph

    graph = read_graph(path)
    if not any(t.quantized for t in graph.tensors):
        return None
    return {m["index"]: ("TPU" if m["mapped"] else "CPU") for m in predict(path)["ops"]}


def _align_int8_onnx(ledgers: list[dict]) -> None:
    """ORT's int8 QLinearConv nodes hide their weight shapes (prepacked): borrow kind and MACs from the float
    ONNX of the same model profiled in the same call, conv for conv in graph order."""
    floats = {(lg["model"], lg["runtime"]): lg for lg in ledgers if lg.get("precision") == "float"}
    for lg in ledgers:
        source = floats.get((lg["model"], lg["runtime"]))
        if lg.get("precision") == "float" or lg["runtime"] != "onnxruntime" or source is None:
            continue
        heavy = [r for r in source["ops"] if "Conv" in r["op"]]
        convs = [r for r in lg["ops"] if "Conv" in r["op"]]
        if len(heavy) != len(convs):
            continue
        for mine, theirs in zip(convs, heavy):
            mine["kind"], mine["macs"] = theirs["kind"], theirs["macs"]
            mine["macs_from"] = "the float ONNX of the same model (ORT prepacks int8 weights)"
        lg["by_kind"] = _shares(lg["ops"])


def _shares(rows: list[dict]) -> list[dict]:
    """Fill each row's time and MAC shares, GMAC/s and flags; return the totals by op kind beside Table 2."""
    total_ms = sum(r["ms"] or 0 for r in rows) or 1.0
    total_macs = sum(r["macs"] or 0 for r in rows) or 1
    total_params = sum(r["params"] or 0 for r in rows) or 1
    kinds: dict[str, dict] = {}
    for r in rows:
        ms = r["ms"] or 0.0
        r["time_share"] = ms / total_ms
        r["mac_share"] = (r["macs"] or 0) / total_macs
        r["gmacs"] = (r["macs"] / (ms * 1e6)) if r["macs"] and ms > 0 else None
        slow = r["time_share"] >= SLOW_MIN_SHARE and r["time_share"] > SLOW_FACTOR * r["mac_share"]
        r["flags"] = (["slow"] if r["macs"] else ["overhead"]) if slow else []
        k = kinds.setdefault(r["kind"], {"kind": r["kind"], "ops": 0, "ms": 0.0, "macs": 0, "params": 0})
        k["ops"] += 1
        k["ms"] += ms
        k["macs"] += r["macs"] or 0
        k["params"] += r["params"] or 0
    out = []
    for name in sorted(kinds, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER)):
        k = kinds[name]
        paper = V1_TABLE2["kinds"].get(name, (None, None))
        out.append({**k, "time_share": k["ms"] / total_ms, "mac_share": k["macs"] / total_macs,
                    "param_share": k["params"] / total_params,
                    "gmacs": k["macs"] / (k["ms"] * 1e6) if k["ms"] > 0 and k["macs"] else None,
                    "paper_mac_pct": paper[0], "paper_param_pct": paper[1]})
    return out
