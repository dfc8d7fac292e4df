"""Our measured figures beside the published ones, model by model, every number with its conditions.

Counts (MACs, params) come from ``zoo.count``; accuracy and latency from the results store
(``edgekit eval`` / ``edgekit bench``); published figures from ``zoo/published.toml``. Absolute
phone latencies cannot be reproduced on another machine, so latency is compared as the *ratios*
the sources imply (v2 / v1, int8 / float, ...), ours measured with one runtime, thread count and
device for both sides of a ratio, from one bench session when there is one.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.zoo import published
from edgekit.zoo.describe import model_entry
from edgekit.zoo.spec import parse_model

FULL_VAL = "ImageNet val, 50,000 images"
EASY_NOTE = ("eval300 is 300 ImageNet validation images, an easier-than-average subset: compare its "
             "top-1 with published full-set numbers only through the same file measured on both")


def _trained(row: dict) -> bool:
    """Accuracy means something only for trained weights (not ``--weights none``)."""
    return row["result"].get("weights") not in (None, "none") or row["result"].get("origin") == "google"


def _latest(rows: list[dict], key) -> dict:
    """Newest row per key (rows arrive newest first)."""
    out: dict = {}
    for row in rows:
        out.setdefault(key(row), row)
    return out


def _dataset(row: dict) -> str:
    return Path(row["result"].get("data", "?")).name


def accuracy_rows(model: str, evals: list[dict]) -> list[dict]:
    """Ours (per origin/format/data set), float and int8 side by side, then the published ones."""
    mine = [r for r in evals if r["model"] == model and _trained(r) and r["result"].get("format") != "tflite-edgetpu"]
    latest = _latest(mine, lambda r: (r["result"].get("origin"), r["format"], r["precision"], _dataset(r)))
    groups: dict = {}
    for (origin, fmt, precision, data), row in latest.items():
        group = groups.setdefault((origin, fmt, data), {
            "who": "edgekit" if origin == "edgekit" else f"{origin} file", "origin": origin, "format": fmt,
            "data": data, "count": row["result"].get("count"), "weights": row["result"].get("weights"),
            "runtime": f"{row['runtime']} {row['runtime_version']}"})
        group[precision] = round(100 * row["value"], 1)
    out = list(groups.values())
    for source in sorted({r.source for r in published.rows_for(model)}):
        rows = {r.precision: r for r in published.rows_for(model) if r.source == source and "top1" in r.values}
        if rows:
            out.append({"who": source, "origin": "published", "format": None, "data": FULL_VAL,
                        "count": 50000, "cite": next(iter(rows.values())).cite,
                        **{p: r.values["top1"] for p, r in rows.items()}})
    for row in out:
        if "float" in row and "int8" in row:
            row["drop"] = round(row["float"] - row["int8"], 1)
    return out


def _pair(benches: list[dict], num: tuple, den: tuple, runtime: str) -> tuple[dict, dict] | None:
    """Newest numerator result and a denominator measured the same way (same session if possible)."""
    def matching(model, precision):
        return [r for r in benches if r["model"] == model and r["precision"] == precision
                and r["runtime"] == runtime and r["result"].get("origin") == "edgekit"]
    for top in matching(*num):
        same = [r for r in matching(*den) if (r["threads"], r["device"], r["batch"]) ==
                (top["threads"], top["device"], top["batch"])]
        if same:
            session = [r for r in same if r["result"].get("session") and
                       r["result"].get("session") == top["result"].get("session")]
            return top, (session or same)[0]
    return None


def ratio_rows(models: list[str], benches: list[dict]) -> list[dict]:
    """Our measured latency ratios (int8/float and model/model) beside the ratios the published tables imply."""
    out = []
    for ratio in published.ratios():
        if ratio.numerator[0] not in models and ratio.denominator[0] not in models:
            continue
        row = {**ratio.to_dict(), "published": round(ratio.value, 3), "ours": []}
        for runtime in ("litert", "onnxruntime"):
            pair = _pair(benches, ratio.numerator, ratio.denominator, runtime)
            if pair:
                top, bottom = pair
                row["ours"].append({
                    "value": round(top["value"] / bottom["value"], 3), "runtime": runtime,
                    "runtime_version": top["runtime_version"], "threads": top["threads"], "device": top["device"],
                    "numerator_ms": round(top["value"], 3), "denominator_ms": round(bottom["value"], 3),
                    "statistic": top["result"].get("statistic"),
                    "same_session": bool(top["result"].get("session")) and
                                    top["result"].get("session") == bottom["result"].get("session")})
        out.append(row)
    return out


def easy_subset(evals: list[dict]) -> list[dict]:
    """Google's own files measured here vs the same files' published full-set top-1."""
    out = []
    for row in _latest([r for r in evals if r["result"].get("origin") == "google"],
                       lambda r: (r["model"], r["precision"], _dataset(r))).values():
        pub = [p for p in published.rows_for(row["model"])
               if p.source == "tflite-hosted" and p.precision == row["precision"] and "top1" in p.values]
        if pub and row["format"] == "tflite":
            here = round(100 * row["value"], 1)
            out.append({"model": row["model"], "precision": row["precision"], "data": _dataset(row),
                        "count": row["result"].get("count"), "top1_here": here,
                        "top1_published": pub[0].values["top1"],
                        "easier_by": round(here - pub[0].values["top1"], 1)})
    return out


def _user_entry(name: str, result: dict, evals: list[dict]) -> dict:
    """A user's own model: our count and measurements; no paper has figures for it, and we say so."""
    user = result["user_model"]
    return {"model": name, "user_model": user,
            "macs_m": round(result["macs"] / 1e6, 1) if result.get("macs") else None, "params_m": round(result["params_folded"] / 1e6, 2) if result.get("params_folded") else None,
            "counts": [], "accuracy": accuracy_rows(name, evals),
            "note": f"{name} is your model ({user.get('file')}, sha256 {str(user.get('sha256'))[:12]}): no published "
                    f"figures exist for it, only what was measured here"}


def compare(models: list[str] | None, evals: list[dict], benches: list[dict]) -> dict:
    """The whole comparison as plain data (``edgekit compare --json`` prints exactly this)."""
    users = {r["model"]: r["result"] for r in evals + benches if r["model"] and r["result"].get("user_model")}
    if models:
        names = [m if m in users else parse_model(m).name for m in models]
    else:
        names = sorted({r["model"] for r in evals + benches if r["model"]})
    entries = []
    for name in names:
        if name in users:
            entries.append(_user_entry(name, users[name], evals))
            continue
        spec = parse_model(name)
        counted = model_entry(spec)
        entries.append({
            "model": name, "macs_m": round(counted["macs"] / 1e6, 1),
            "params_m": round(counted["params_folded"] / 1e6, 2),
            "counts": [{k: p.get(k) for k in ("source", "macs_m", "params_m", "macs_delta", "params_delta", "note")}
                       for p in counted["published"] or [] if "macs_m" in p or "params_m" in p],
            "accuracy": accuracy_rows(name, evals),
        })
    return {"models": entries, "ratios": ratio_rows(names, benches), "easy_subset": easy_subset(evals),
            "notes": {"eval300": EASY_NOTE, "full_val": FULL_VAL}}
