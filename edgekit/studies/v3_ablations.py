"""MobileNetV3's network improvements, undone one at a time and measured (v3 paper, Sec. 5.1 and Table 5).

For each of v3-large and v3-small: the network as published, then with the original last stage
(``-origlast``), with the 32-filter ReLU stem (``-stem32``) and with ReLU wherever it has h-swish (``-relu``).
Each variant is counted (multiply-adds and parameters, from ``zoo.arch``), converted float and int8 (random
weights: latency does not depend on their values; calibrated on the images given) to each format, and every
artifact is timed in one interleaved bench session on this host. The rows say what each redesign saves here,
beside what the paper says it saved on a Pixel 1 (``published.toml``'s ``[[ablations]]``): -30 M MAdds and
-7 ms (11%) for the efficient last stage, -10 M and -2 ms for the 16-filter stem, and h-swish's 0.9 ms over
ReLU (Table 5).
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.zoo.spec import parse_model

VARIANTS = ("", "origlast", "stem32", "relu")  # "" = as published
FAMILIES = ("v3-large", "v3-small")


def v3_ablations_study(models=FAMILIES, *, calib: str, out: str | Path = "v3-ablations", formats=("tflite", "onnx"),
                       alpha: float = 1.0, resolution: int = 224, calib_count: int = 32, threads: int = 1,
                       runs: int = 20, rounds: int = 4, warn=None) -> dict:
    """Count, convert (float, int8) and time every ablation of each v3 model in one interleaved session."""
    from edgekit.environment import cpu_features, cpu_model
    from edgekit.export.convert import ConvertOptions, convert
    from edgekit.measure.bench import BenchOptions, bench
    from edgekit.zoo.count import count
    from edgekit.zoo.published import ablations
    from edgekit.zoo.spec import format_alpha

    unknown = [m for m in models if m not in FAMILIES]
    if unknown or not models:
        raise EdgekitError(f"v3-ablations: the ablations are MobileNetV3's: --models takes {', '.join(FAMILIES)}"
                           + (f", not {', '.join(unknown)}" if unknown else ""))
    out = Path(out)
    variants, paths = [], {}
    for family in models:
        base = f"{family}-{format_alpha(alpha)}-{resolution}"
        for ablation in VARIANTS:
            spec = parse_model(f"{base}-{ablation}" if ablation else base)
            counted = count(spec)
            # random weights, timed not judged: the converters' own rounding (GPTQ would only cost time here) and
            # parity on a few images (it still catches a broken conversion)
            made = convert(ConvertOptions.build(spec.name, weights="none", ptq="minmax", precisions=("float", "int8"),
                                                formats=tuple(formats), calib=calib, calib_count=calib_count,
                                                check_count=8, out=str(out), warn=warn))
            variants.append({"family": family, "model": spec.name, "ablation": ablation or "as published",
                             "macs": counted.macs, "params": counted.params_folded})
            for a in made:
                paths[a["path"]] = (spec.name, a["format"], a["precision"])
    timed, errors = bench([Path(p) for p in paths], BenchOptions.build(threads=threads, runs=runs, min_time=0.0, rounds=rounds))
    if errors:
        raise EdgekitError("; ".join(errors))
    ms = {paths[str(r["artifact"])]: r for r in timed}
    published = {(a["model"], a["ablation"]): a for a in ablations()}
    rows = []
    for v in variants:
        base = next(b for b in variants if b["family"] == v["family"] and b["ablation"] == "as published")
        row = {**v, "macs_delta": v["macs"] - base["macs"], "params_delta": v["params"] - base["params"],
               "latency": {}}
        for (model, fmt, precision), r in ms.items():
            if model != v["model"]:
                continue
            reference = ms[(base["model"], fmt, precision)]["median_ms"]
            row["latency"][f"{fmt}-{precision}"] = {
                "median_ms": r["median_ms"], "delta_ms": round(r["median_ms"] - reference, 4),
                "delta_pct": round(100 * (r["median_ms"] / reference - 1), 2),
                "runtime": f"{r['runtime']} {r['runtime_version']}"}
        ablation = v["ablation"] if v["ablation"] != "as published" else None
        paper = published.get((f"{v['family']}-1.0-224", ablation)) if ablation else None
        row["paper"] = paper
        rows.append(row)
    first = timed[0]
    return {"models": list(models), "alpha": alpha, "resolution": resolution, "formats": list(formats),
            "weights": "random (seeded); latency and counts do not depend on the values", "rows": rows,
            "conditions": {"device": first["device"], "cpu": cpu_model(), "cpu_features": cpu_features(),
                           "threads": threads, "statistic": first["statistic"],
                           "session": "every artifact in one interleaved bench session"},
            "calibration": {"source": str(calib), "count": calib_count}}
