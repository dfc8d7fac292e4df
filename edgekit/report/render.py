"""Build the report: Markdown beside its PNGs, and one HTML page with the same PNGs inlined.

Everything comes from the results store; every figure carries its conditions (data set and image
count for accuracy, runtime/version/threads/device/statistic for latency). Files are written
atomically, so an interrupted report never leaves half a page.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

from edgekit.compare.papers import compare
from edgekit.files import write_atomic
from edgekit.report import plots
from edgekit.report.data import latest, points, speedups
from edgekit.zoo import published

PLOTS = (("accuracy_vs_latency.png", "Accuracy vs latency"), ("int8_speedup.png", "int8 speed-up"),
         ("macs_vs_latency.png", "MACs vs latency"))


def _published_speedups() -> dict[str, float]:
    return {r.numerator[0]: 1 / r.value for r in published.ratios()
            if r.source == "tflite-hosted" and r.numerator[1] == "int8" and r.denominator[1] == "float"}


def _segmentation(evals: list[dict]) -> tuple[list[dict], list[dict]]:
    """Segmenters' newest evaluation per file and data set: the table rows, and their pictures (path, caption)."""
    rows, pictures = [], []
    for r in latest(evals, lambda r: (r["artifact_sha256"], r["result"].get("data"))):
        res = r["result"]
        rows.append({"artifact": Path(r["artifact"]).name, "model": r["model"] or "?", "precision": r["precision"] or "?",
                     "data": f"{Path(res.get('data', '?')).name} ({res.get('count')} images)",
                     "mIoU": f"{res['miou']:.4f}" if res.get("miou") is not None else "-",
                     "pixel acc": f"{res['pixel_accuracy']:.4f}" if res.get("pixel_accuracy") is not None else "-",
                     "classes": res.get("classes"), "output": res.get("output_form"), "arg-max": res.get("arg_max"),
                     "runtime": f"{r['runtime']} {r['runtime_version']}"})
        for path in (res.get("overlays") or ())[:OVERLAYS_PER_RESULT]:
            if Path(path).is_file():
                pictures.append((path, f"{Path(r['artifact']).parent.name}/{Path(r['artifact']).name} on "
                                       f"{Path(path).stem.rsplit('-', 1)[-1]}: image | reference mask | prediction"))
    return rows, pictures


OVERLAYS_PER_RESULT = 4  # pictures the report shows per segmenter's evaluation (eval --overlay writes them all)


def build(benches: list[dict], evals: list[dict], db: str) -> dict:
    """The report as data: tables (lists of rows), notes and PNG bytes."""
    dense = [r for r in evals if r["result"].get("task") == "segmentation"]
    boxes = [r for r in evals if r["result"].get("task") == "detection"]
    evals = [r for r in evals if r["result"].get("task") not in ("segmentation", "detection")]
    detection = [{"artifact": Path(r["artifact"]).name, "model": r["model"] or "?", "precision": r["precision"] or "?",
                  "data": f"{Path(r['result'].get('data', '?')).name} ({r['result'].get('count')} images)",
                  "mAP": f"{r['result']['map']:.4f}", "mAP@.5": f"{r['result']['map50']:.4f}",
                  "post-processing": r["result"].get("post_processing"), "runtime": f"{r['runtime']} {r['runtime_version']}"}
                 for r in latest(boxes, lambda r: (r["artifact_sha256"], r["result"].get("data")))]
    segmentation, pictures = _segmentation(dense)
    pts = points(benches, evals)
    ups = speedups(pts)
    images = {
        "accuracy_vs_latency.png": plots.accuracy_vs_latency(pts),
        "int8_speedup.png": plots.int8_speedup(ups, _published_speedups()),
        "macs_vs_latency.png": plots.macs_vs_latency(pts),
    }
    acc = [{"artifact": Path(r["artifact"]).name, "model": r["model"] or "?", "precision": r["precision"] or "?",
            "origin": r["result"].get("origin") or "?", "weights": r["result"].get("weights") or "?",
            "data": f"{Path(r['result'].get('data', '?')).name} ({r['result'].get('count')} images)",
            "top-1": f"{100 * r['value']:.1f}%",
            "top-5": f"{100 * r['result']['top5']:.1f}%" if r["result"].get("top5") is not None else  # N <= 5 classes
            "-",
            "runtime": f"{r['runtime']} {r['runtime_version']}"}
           for r in latest(evals, lambda r: (r["artifact_sha256"], r["result"].get("data")))]
    lat = [{"artifact": p.label, "runtime": f"{p.runtime} {p.runtime_version}", "threads": p.threads,
            "device": p.device, "median ms": f"{p.median_ms:.3f}", "statistic": p.statistic} for p in pts]
    cmp = compare(None, evals, benches)
    ratios = []
    for r in cmp["ratios"]:
        for ours in r["ours"]:
            ratios.append({"ratio": r["name"], "published": f"{r['published']:.2f}", "published on": r["device"],
                           "source": r["source"], "ours": f"{ours['value']:.2f}",
                           "ours on": f"{ours['runtime']} {ours['runtime_version']}, {ours['threads']} thr, "
                                      f"{ours['device']}"})
    envs = {(e["environment"].get("cpu"), e["environment"].get("usable_cores"), e["environment"].get("os"))
            for e in benches + evals}
    return {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "db": db,
            "machines": [f"{cpu}, {cores} usable cores, {os_}" for cpu, cores, os_ in sorted(envs, key=str)],
            "accuracy": acc, "latency": lat, "ratios": ratios, "speedups": ups,
            "easy_subset": cmp["easy_subset"], "note": cmp["notes"]["eval300"], "images": images,
            "segmentation": segmentation, "pictures": pictures, "detection": detection}


def _md_table(rows: list[dict]) -> str:
    if not rows:
        return "_none recorded_\n"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]).replace("|", "/") for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _html_table(rows: list[dict]) -> str:
    if not rows:
        return "<p><em>none recorded</em></p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sections(report: dict):
    easy = [{"model": e["model"], "precision": e["precision"], "data": f"{e['data']} ({e['count']} images)",
             "top-1 here": e["top1_here"], "top-1 published (50k)": e["top1_published"],
             "easier by": f"{e['easier_by']:+.1f} pts"} for e in report["easy_subset"]]
    yield "Accuracy", "Newest evaluation of each file. " + report["note"] + ".", report["accuracy"]
    yield "How much easier the evaluation set is", ("Google's own files, measured here and as published "
                                                     "on the full validation set."), easy
    if report.get("segmentation"):
        yield ("Segmentation", "Newest evaluation of each segmenter: mIoU over the classes in the masks or the "
               "predictions, pixel accuracy, each prediction scored at its mask's size (255 ignored).",
               report["segmentation"])
    if report.get("detection"):
        yield ("Detection", "Newest evaluation of each detector: COCO mAP@[.5:.95] and mAP@.5 by pycocotools.",
               report["detection"])
    yield "Latency", "Newest benchmark of each file under each setting.", report["latency"]
    yield ("Latency ratios beside the published ones", "Phones cannot be reproduced here; ratios can. "
           "Both sides of each of our ratios come from one runtime, thread count and device.", report["ratios"])


def write(report: dict, out: str | Path) -> dict[str, Path]:
    """Write the report's Markdown, HTML and plots into ``out`` atomically; returns what was written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in report["images"].items():
        if data:
            write_atomic(out / name, data)
            written[name] = out / name
    md = ["# edgekit report\n", f"Generated {report['created']} from `{report['db']}`.\n",
          "Machines: " + "; ".join(report["machines"]) + "\n"]
    page = [f"<h1>edgekit report</h1><p>Generated {html.escape(report['created'])} from "
            f"<code>{html.escape(report['db'])}</code>.</p><p>Machines: "
            f"{html.escape('; '.join(report['machines']))}</p>"]
    for title, text, rows in _sections(report):
        md += [f"## {title}\n", text + "\n", _md_table(rows)]
        page += [f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>", _html_table(rows)]
    md.append("## Plots\n")
    page.append("<h2>Plots</h2>")
    for name, title in PLOTS:
        data = report["images"].get(name)
        if data:
            md.append(f"### {title}\n\n![{title}]({name})\n")
            page.append(f"<h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' "
                        f"src='data:image/png;base64,{base64.b64encode(data).decode()}'>")
        else:
            md.append(f"### {title}\n\n_not enough results for this plot_\n")
            page.append(f"<h3>{html.escape(title)}</h3><p><em>not enough results for this plot</em></p>")
    if report.get("pictures"):
        md.append("## Segmentation pictures\n")
        page.append("<h2>Segmentation pictures</h2>")
        for path, caption in report["pictures"]:
            md.append(f"{caption}\n\n![{caption}]({Path(path).resolve().as_uri()})\n")
            page.append(f"<h3>{html.escape(caption)}</h3><img alt='{html.escape(caption)}' "
                        f"src='data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode()}'>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:3px 7px;text-align:left}th{background:#f3f3f3}img{max-width:100%}")
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>edgekit report</title>"
           f"<style>{style}</style></head><body>{''.join(page)}</body></html>\n")
    write_atomic(out / "report.md", "\n".join(md).encode())
    write_atomic(out / "report.html", doc.encode())
    written.update({"report.md": out / "report.md", "report.html": out / "report.html"})
    return written
