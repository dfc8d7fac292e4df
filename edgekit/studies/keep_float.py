"""Float, int8 and mixed (``--keep-float``) side by side: what leaving layers in float buys, and costs.

Converts the model three ways with the same weights and calibration images, then measures all
three the same way: top-1 on a labelled folder, int8-vs-float agreement and SQNR on the parity
images (from each sidecar), size, and latency timed in one interleaved bench session.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export.convert import ConvertOptions, convert
from edgekit.measure.bench import BenchOptions, bench
from edgekit.measure.evaluate import evaluate


def keep_float_study(model: str, weights: str, calib: str, data: str, keep_float: str = "auto:3", *,
                     out: str | Path = "keep-float-study", calib_count: int = 100, limit: int | None = None,
                     check: str | None = None, threads: int = 1, warn=None) -> dict:
    """Convert ``model`` as float, int8 and int8 with ``keep_float`` layers kept float, then measure all three the same way: top-1, agreement, SQNR, size, latency."""
    out = Path(out)
    common = dict(weights=weights, formats=("tflite",), calib=calib, calib_count=calib_count, check=check, warn=warn)
    plain = convert(ConvertOptions.build(model, precisions=("float", "int8"), out=str(out / "plain"), **common))
    mixed = convert(ConvertOptions.build(model, precisions=("int8",), out=str(out / "mixed"), keep_float=keep_float,
                                         **common))
    sidecars = {"float": plain[0] if plain[0]["precision"] == "float" else plain[1],
                "int8": plain[1] if plain[1]["precision"] == "int8" else plain[0], "mixed": mixed[0]}
    paths = {k: Path(s["path"]) for k, s in sidecars.items()}
    timed, errors = bench(list(paths.values()), BenchOptions.build(threads=threads, runs=60, min_time=1.0, rounds=4))
    if errors:
        raise EdgekitError("; ".join(errors))
    by_path = {r["artifact"]: r for r in timed}
    rows = []
    for name, path in paths.items():
        acc = evaluate(path, data, limit=limit, threads=threads)
        s, t = sidecars[name], by_path[str(path)]
        rows.append({"variant": name, "artifact": str(path), "size_bytes": s["size_bytes"],
                     "top1": acc["top1"], "top5": acc["top5"], "count": acc["count"],
                     "agreement_with_float": s["parity"]["top1_agreement"] if name != "float" else 1.0,
                     "sqnr_db": s["parity"]["sqnr_db"] if name != "float" else None,
                     "median_ms": t["median_ms"], "statistic": t["statistic"],
                     "runtime": f"{t['runtime']} {t['runtime_version']}", "threads": t["threads"]})
    float_top1 = rows[0]["top1"]
    for row in rows:
        row["drop_pts"] = round(100 * (float_top1 - row["top1"]), 2)
    kept = sidecars["mixed"].get("quantization", {}).get("keep_float") or {}
    return {"model": model, "weights": weights, "keep_float": kept, "data": str(data),
            "parity_images": sidecars["int8"]["parity"]["check"], "rows": rows}
