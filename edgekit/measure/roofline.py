"""A roofline per op: how far each op of a ledger is from what this device's core can do.

The device's roofs are measured once (``edgekit roof``: a large 1x1 convolution in float32 and in int8 for the
compute peaks, a streaming ADD for the memory bandwidth, each timed by the runtime on the device) and stored
with the device's fingerprint (device, CPU and its features, runtime and version, threads) in ``roofs.json``
beside the results store. A ledger of the same fingerprint then gives each op its achieved GMAC/s and GB/s as a
fraction of its roof: min(compute peak, arithmetic intensity x bandwidth), the compute peak of the op's
precision; an op without multiply-adds is held to the bandwidth alone. The summary names the kind of op
furthest from its roof and the time that distance costs (its time minus the time at its roof).

LiteRT (.tflite) ledgers only: their ops' tensors are read from the file for the bytes each op moves.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SCHEMA = 1
ROOF_KEYS = ("fp32_gmacs", "int8_gmacs", "gbps")


def roofs_path() -> Path:
    """``$EDGEKIT_ROOFS``, else ``roofs.json`` beside ``$EDGEKIT_DB``, else in edgekit's data folder."""
    from edgekit.files import data_dir

    if os.environ.get("EDGEKIT_ROOFS"):
        return Path(os.environ["EDGEKIT_ROOFS"])
    if os.environ.get("EDGEKIT_DB"):
        return Path(os.environ["EDGEKIT_DB"]).parent / "roofs.json"
    return data_dir() / "roofs.json"


def fingerprint(device: str, environment: dict | None, runtime: str, threads: int) -> str:
    env = environment or {}
    core = [str(env["cpu_id"])] if env.get("cpu_id") else []  # which core the name stands for, where recorded
    return "|".join([device, str(env.get("cpu")), *core, ",".join(env.get("cpu_features") or []), runtime,
                     str(threads)])


def load_roofs(path: Path | None = None) -> dict[str, dict]:
    path = path or roofs_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data.get("roofs", {}) if isinstance(data, dict) and data.get("schema") == SCHEMA else {}


def store_roof(roof: dict, path: Path | None = None) -> Path:
    """Add (or replace) one device's roof, atomically."""
    from edgekit.files import write_atomic

    path = path or roofs_path()
    roofs = load_roofs(path)
    roofs[roof["fingerprint"]] = roof
    write_atomic(path, json.dumps({"schema": SCHEMA, "roofs": roofs}, indent=1).encode())
    return path


def roof_for(ledger: dict, path: Path | None = None) -> dict | None:
    """The stored roof of the device, CPU, runtime and threads a ledger was measured on."""
    runtime = f"{ledger.get('runtime')} {ledger.get('runtime_version')}"
    return load_roofs(path).get(fingerprint(ledger["device"], ledger.get("environment"), runtime, ledger["threads"]))


def op_bytes(path: Path) -> dict[int, tuple[int, bool]]:
    """Bytes each op of a .tflite file reads and writes (inputs, weights included, and outputs), and whether it
    computes in int8 (its first input quantized)."""
    from edgekit.run.tflite_cut import NO_TENSOR
    from edgekit.run.tflite_graph import read_graph

    graph = read_graph(path)
    size = {"float32": 4, "int32": 4, "int8": 1, "uint8": 1, "int16": 2, "float16": 2, "int64": 8, "bool": 1}
    out = {}
    for op in graph.ops:
        total = 0
        for i in dict.fromkeys((*op.inputs, *op.outputs)):  # each distinct tensor once: a + a reads a once
            if i == NO_TENSOR:
                continue
            t = graph.tensors[i]
            n = 1
            for d in t.shape:
                n *= max(int(d), 1)
            total += n * size.get(t.dtype.lower(), 4)
        first = graph.tensors[op.inputs[0]] if op.inputs and op.inputs[0] != NO_TENSOR else None
        out[op.index] = (total, bool(first is not None and first.dtype.lower() in ("int8", "uint8")))
    return out


def apply(ledger: dict, path: Path, roof: dict) -> dict:
    """Each op's fraction of its roof, the per-kind fractions and the summary, added to ``ledger`` (in place)."""
    moved = op_bytes(path)
    kinds: dict[str, dict] = {}
    for r in ledger["ops"]:
        bytes_, int8 = moved.get(r["index"], (0, False))
        ms = r.get("ms") or 0.0
        r["bytes"] = bytes_
        if ms <= 0 or not bytes_:
            continue
        gbps = bytes_ / (ms * 1e6)
        peak = roof["int8_gmacs" if int8 else "fp32_gmacs"]
        if r.get("macs"):
            intensity = r["macs"] / bytes_  # MACs per byte
            ceiling = min(peak, intensity * roof["gbps"])
            r["roof_gmacs"] = ceiling
            r["bound"] = "compute" if peak <= intensity * roof["gbps"] else "memory"
            r["roof_fraction"] = min(1.0, (r["macs"] / (ms * 1e6)) / ceiling)
        else:
            r["bound"] = "memory"
            r["roof_fraction"] = min(1.0, gbps / roof["gbps"])
        r["gbps"] = gbps
        k = kinds.setdefault(r["kind"], {"kind": r["kind"], "ms": 0.0, "ms_at_roof": 0.0})
        k["ms"] += ms
        k["ms_at_roof"] += ms * r["roof_fraction"]
    by_kind = []
    for k in kinds.values():
        fraction = k["ms_at_roof"] / k["ms"] if k["ms"] else None
        by_kind.append({**k, "roof_fraction": fraction, "lost_ms": k["ms"] - k["ms_at_roof"]})
    by_kind.sort(key=lambda k: -k["lost_ms"])
    ledger["roof"] = {**{key: roof[key] for key in ROOF_KEYS}, "measured": roof.get("measured"),
                      "statistic": roof.get("statistic"), "by_kind": by_kind,
                      "furthest": by_kind[0] if by_kind else None,
                      "method": "roof = min(peak of the op's precision, MACs per byte x bandwidth); an op without "
                                "MACs against the bandwidth; bytes = its tensors (inputs, weights, outputs) once"}
    return ledger
