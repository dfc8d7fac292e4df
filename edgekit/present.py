"""Rich tables for people; the CLI prints JSON for machines instead. Plain data in, no logic."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgekit.environment import cpu_label, int8_dot_product

# Off a terminal (CI logs, pipes) rich would wrap to 80 columns; tables read better wide, unless COLUMNS says
# how wide the reader's window is.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 180)


def _m(value: int | float, digits: int = 2) -> str:
    return f"{value / 1e6:,.{digits}f}"


def _pick(rows, field, precision="float"):
    """The first published row with ``field``, papers first."""
    rows = [r for r in rows or [] if field in r and r["precision"] == precision]
    rows.sort(key=lambda r: not r["source"].endswith("-paper"))
    return rows[0] if rows else None


def zoo_table(entries: list[dict]) -> Table:
    """The zoo listing with our counts beside the published ones (a segmenter's accuracy is its mIoU)."""
    tasks = {e.get("task") or "classification" for e in entries}
    task = tasks.pop() if len(tasks) == 1 else "classification"
    dense = task != "classification"
    metric, name = {"segmentation": ("miou", "mIoU"), "detection": ("map", "COCO mAP")}.get(task, ("top1", "top-1"))
    table = Table(title="edgekit model zoo (MACs: plain conv/dw/FC count; params: BN folded)")
    for col, just in [("model", "left"), ("MACs (M)", "right"), ("params (M)", "right"),
                      ("published MACs (M)", "right"), ("diff", "right"),
                      *([("published params (M)", "right")] if dense else []), (f"{name} float", "right"),
                      (f"{name} int8", "right"), ("ImageNet weights", "center")]:
        table.add_column(col, justify=just, no_wrap=col == "model")
    for e in entries:
        macs_row = _pick(e["published"], "macs_m")
        params_row = _pick(e["published"], "params_m")
        top1 = _pick(e["published"], metric)
        int8 = _pick(e["published"], metric, "int8")
        diff = ""
        if macs_row:
            d = macs_row["macs_delta"]
            diff = f"[{'green' if abs(d) <= 0.01 else 'yellow'}]{d:+.1%}[/]"
        unit = "" if dense else "%"
        table.add_row(
            e["name"], _m(e["macs"], 1), _m(e["params_folded"]),
            f"{macs_row['macs_m']:g} ({macs_row['source']})" if macs_row else "",
            diff,
            *([f"{params_row['params_m']:g} ({params_row['params_delta']:+.1%})" if params_row else ""] if dense else []),
            f"{top1[metric]:.2f}{unit} ({top1['source']})" if top1 else "",
            f"{int8[metric]:.2f}{unit} ({int8['source']})" if int8 else "",
            "yes" if e["imagenet_weights"] else "-",
        )
    if task == "detection":
        table.caption = ("detectors: SSDLite at 320x320 with 90 COCO classes + background (the v3 paper's); the v2 "
                         "paper's counts are for 80 + background; each deviation is noted in edgekit/zoo/published.toml")
    if task == "segmentation":
        table.caption = ("segmenters: DeepLabv3 counted at 513x513 on PASCAL VOC's 21 classes, LR-ASPP at the inputs "
                         "the v3 paper's Tables 7-8 give, on Cityscapes' 19; each deviation is noted in "
                         "edgekit/zoo/published.toml (`edgekit models --json`)")
    return table


def summary_table(s: dict) -> Table:
    """A model's layers in the style of the v1 paper's Table 1."""
    table = Table(title=f"{s['name']}: layers in the style of the v1 paper's Table 1", show_footer=True)
    table.add_column("#", justify="right", footer="")
    table.add_column("Type / Stride", footer="total")
    table.add_column("Filter Shape", footer="")
    table.add_column("Input Size", footer="")
    table.add_column("act", footer="")
    table.add_column("MACs", justify="right", footer=f"{s['macs']:,}")
    table.add_column("params (Keras)", justify="right", footer=f"{s['params']:,}")
    table.add_column("params (folded)", justify="right", footer=f"{s['params_folded']:,}")
    table.add_column("layer", style="dim", footer="")
    for i, layer in enumerate(s["layers"]):
        table.add_row(
            str(i), layer["type"], layer["filter_shape"], layer["input_size"],
            ("BN+" if layer["batchnorm"] else "") + (layer["activation"] or ""),
            f"{layer['macs']:,}" if layer["macs"] else "", f"{layer['params']:,}" if layer["params"] else "",
            f"{layer['params_folded']:,}" if layer["params_folded"] else "", layer["name"],
        )
    return table


def summary_lines(s: dict) -> list[str]:
    """The totals under ``summary_table``, a note for a resolution off the papers', the published rows."""
    from edgekit.zoo.spec import parse_model

    spec = parse_model(s["name"])
    lines = [f"[bold]{spec.name}[/]: {s['macs'] / 1e6:.2f} M MACs, {s['params']:,} params "
             f"({s['params_folded']:,} with BN folded), {s['elementwise_ops'] / 1e6:.2f} M element-wise ops; "
             f"input {spec.preprocessing.note}"]
    if not spec.paper_resolution:
        lines.append(f"[yellow]{spec.resolution} px is not one of the paper's resolutions: no published numbers.[/]")
    return lines + published_lines(s)


def classify_lines(results: list[dict], model: str, weights: str, crop: float) -> list[str]:
    """Top classes of each image, one line per class."""
    lines = []
    for result in results:
        lines.append(f"{result['image']}  ({model}, weights {weights}, crop {crop})")
        for item in result["top"]:
            lines.append(f"  {item['class_index']:4d}  {item['prob']:6.1%}  {item.get('class_name', '')}")
    return lines


def scaling_lines(results) -> list[str]:
    """Thread scaling of every artifact timed at several thread counts in the run: speed-up and per thread."""
    by_artifact: dict[str, dict[int, float]] = {}
    for r in results:
        if r.get("median_ms"):
            by_artifact.setdefault(r["artifact"], {})[r["threads"]] = r["median_ms"]
    lines = []
    for artifact, medians in by_artifact.items():
        if len(medians) < 2:
            continue
        low = min(medians)
        parts = [f"{t} thr {medians[t]:.3f} ms" + (f" ({medians[low] / medians[t]:.2f}x, "
                                                 f"{medians[low] / medians[t] / (t / low):.0%} per thread)"
                                                 if t != low else "") for t in sorted(medians)]
        lines.append(f"thread scaling {_short(artifact)}: " + "; ".join(parts))
    return lines


def int8_slower_lines(results) -> list[str]:
    """A warning for each model whose int8 artifact ran slower than its float one in this run (same runtime,
    threads and device), with the command that shows which ops are responsible."""
    groups: dict[tuple, dict[str, dict]] = {}
    for r in results:
        if r.get("model") and r.get("median_ms") and r.get("precision") in ("float", "int8"):
            key = (r["model"], r.get("origin"), r.get("runtime"), r.get("threads"), r.get("device"))
            groups.setdefault(key, {})[r["precision"]] = r
    lines = []
    for (model, _, runtime, threads, _), pair in groups.items():
        if "float" in pair and "int8" in pair and pair["int8"]["median_ms"] > pair["float"]["median_ms"]:
            ratio = pair["int8"]["median_ms"] / pair["float"]["median_ms"]
            lines.append(f"[yellow]warning:[/] {model} int8 ran {ratio:.2f}x its float time ({runtime}, {threads} "
                         f"thread(s)); where the time goes: edgekit profile {pair['float']['artifact']} "
                         f"{pair['int8']['artifact']}")
    return lines


def recorded_lines(db: str | None, baseline: str | None = None) -> list[str]:
    """Where results went: the results store, and a baseline file if one was written."""
    return ([f"recorded in {db}"] if db else []) + ([f"baseline written to {baseline}"] if baseline else [])


def published_lines(s: dict) -> list[str]:
    """The published rows of a model beside our counts, with their sources."""
    lines = []
    for row in s["published"]:
        parts = []
        if "macs_m" in row:
            mark = "ok" if row["macs_within_1pct"] else "outside 1%"
            parts.append(f"MACs {row['macs_m']:g} M vs ours {s['macs'] / 1e6:.1f} M ({row['macs_delta']:+.1%}, {mark})")
        if "params_m" in row:
            parts.append(f"params {row['params_m']:g} M vs ours {s['params_folded'] / 1e6:.2f} M folded")
        if "top1" in row:
            parts.append(f"top-1 {row['top1']:.1f}% ({row['precision']})")
        if "latency_ms" in row:
            parts.append(f"{row['latency_ms']:g} ms on {row['latency_device']}")
        where = f", {row['where']}" if row.get("where") else ""
        lines.append(f"[bold]{row['source']}{where}[/]: " + "; ".join(parts))
        if row.get("note"):
            lines.append(f"    [dim]note: {row['note']}[/]")
    return lines


def progress_over(description: str):
    """An iterable wrapper that shows a progress bar on stderr (rich), for long loops."""
    from rich.progress import track

    def wrap(items):
        return track(items, description=description, console=Console(stderr=True), transient=True)
    return wrap


def convert_table(sidecars) -> Table:
    """The artifacts ``convert`` wrote with their parity against Keras, judged; the parity columns are the task's
    (a classifier's agreement, a segmenter's pixel agreement and mIoU against float, a tensor's cosine)."""
    from edgekit.tasks import get_task

    labelled = any(s["parity"].get("drop_pts") is not None for s in sidecars)
    task = get_task(sidecars[0].get("task") or "classification") if sidecars else get_task("classification")
    tensors = task.name == "tensor"
    table = Table(title="exported artifacts (parity against the source model)")
    columns = task.parity_columns
    cols = ["artifact", "size", "input", *(header for header, _, _ in columns), *(["drop"] if labelled else []),
            "parity", "s"]
    for col in cols:  # figures never wrap or shorten; the artifact column folds in a narrow terminal
        table.add_column(col, justify="left" if col == "artifact" else "right", no_wrap=col != "artifact",
                         overflow="fold")
    folders = {str(Path(s["path"]).parent.parent) for s in sidecars}
    for s in sidecars:
        p = s["parity"]
        inp = s["io"]["inputs"][0]
        verdict = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "report"}[p["passed"]]
        drop = [f"{p['drop_pts']:+.1f}" if p.get("drop_pts") is not None else ""] if labelled else []
        name = str(Path(s["path"]).relative_to(folders.copy().pop())) if len(folders) == 1 else s["path"]
        table.add_row(
            name, f"{s['size_bytes'] / 1024:,.0f}K", inp["dtype"].replace("float32", "f32"),
            *(format(p[key], spec) if p.get(key) is not None else "-" for _, key, spec in columns), *drop, verdict,
            f"{s['convert_seconds']:.1f}",
        )
    n = sidecars[0]["parity"]["images"] if sidecars else 0
    src = sidecars[0]["parity"]["check"]["source"] if sidecars else ""
    where = f"in {folders.pop()}; " if len(folders) == 1 else ""
    table.caption = (f"{where}size in KiB, SQNR in dB, drop in points; "
                     f"parity on {n} images from {src}; float/fp16 must match the source model, quantized artifacts are "
                     f"judged against floors (see the lines below)"
                     + ("; drop = the source model's top-1 minus the artifact's, on these labelled images"
                        if labelled and task.name == "classification" else "")
                     + ("; drop = the source model's mIoU minus the artifact's, in points, on these masked images"
                        if labelled and task.name == "segmentation" else "")
                     + ("; pixels: pixel agreement with the source model's arg-max; mIoU/float: the artifact's "
                        "classes scored against the source model's as truth" if task.name == "segmentation" else "")
                     + ("; cosine and SQNR: the worst output's (tensor task: outputs compared element by element)"
                        if tensors else ""))
    return table


def convert_lines(sidecars) -> list[str]:
    """What each quantized artifact was judged on, what it missed, and any accuracy-controlled search."""
    lines = []
    for s in sidecars:
        p = s["parity"]
        if "judged_on" in p:
            status = ("[red]missed " + "; ".join(p["failed"]) + "[/]") if p["passed"] is False else \
                "met" if p["passed"] else "[yellow]not judged[/]"
            lines.append(f"{s['artifact']}: {', '.join(p['requirements']) or 'no floors'} ({p['judged_on']}): {status}")
        control = (s.get("quantization") or {}).get("accuracy_control")
        if control:
            lines += accuracy_control_lines(s["artifact"], control)
    return lines


def accuracy_control_lines(name: str, log: dict) -> list[str]:
    """The layers an accuracy-controlled conversion kept float, each with its accuracy and its cost."""
    plain = log["plain"]
    latency = log.get("latency") or {}
    lines = [f"[bold]{name}[/]: target {log['target']}: " + ("[green]met[/]" if log["met"] else "[red]not met[/]")
             + f" with {len(log['steps'])} layer{'s' if len(log['steps']) != 1 else ''} kept float"
             + (f" ({log['note']})" if log.get("note") else ""),
             f"  plain int8: {_step_figures(plain)}"
             + (f"; the same path with no layer float {latency['median_ms'][0]:.3f} ms" if latency else "")]
    for step in log["steps"]:
        lines.append(f"  + {step['layer']:<24s} {_step_figures(step)}"
                     + f"; cost {step['size_delta_bytes'] / 1024:+,.0f} KiB"
                     + (f", {step['latency_delta_ms']:+.3f} ms ({step['median_ms']:.3f} ms)" if "median_ms" in step else ""))
    if latency:
        lines.append(f"  [dim]latency: {latency['runtime']}, {latency['threads']} thread(s), {latency['statistic']}[/]")
    return lines


def _step_figures(step: dict) -> str:
    """One step of the accuracy-controlled search: the figures its task has (agreement or box IoU or pixel
    agreement, SQNR, the drop)."""
    parts = []
    for key, label, spec in (("top1_agreement", "agreement", ".1%"), ("box_iou", "box IoU", ".3f"),
                             ("pixel_agreement", "pixels", ".1%"), ("sqnr_db", "SQNR", ".1f")):
        if step.get(key) is not None:
            parts.append(f"{label} {format(step[key], spec)}" + (" dB" if key == "sqnr_db" else ""))
    if step.get("drop_pts") is not None:
        parts.append(f"drop {step['drop_pts']:+.1f} pts")
    return ", ".join(parts) or "no figures"


def step_progress():
    """A (context manager, callback(step, total, description)) pair: a progress bar on stderr."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("benchmark", total=None)

    def update(step: int, total: int, description: str) -> None:
        bar.update(task, completed=step, total=total, description=description)
    return bar, update


def _ms(value) -> str:
    return "" if value is None else f"{value:.3f}" if value < 10 else f"{value:.2f}"


def _short(path: str) -> str:
    """The last two parts of a path: enough to tell artifacts apart in a table."""
    return "/".join(Path(path).parts[-2:])


def _distinct(paths: list[str]) -> list[str]:
    """The shortest path endings (two parts at least) that tell every path in a table apart."""
    parts = [Path(p).parts for p in paths]
    depth = [2] * len(paths)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        owners: dict[str, set] = {}
        for path, name in zip(paths, names):
            owners.setdefault(name, set()).add(path)
        clashes = [i for i, name in enumerate(names) if len(owners[name]) > 1 and depth[i] < len(parts[i])]
        if not clashes:
            return names
        for i in clashes:
            depth[i] += 1


def _runtime_cell(r: dict) -> str:
    """Runtime and version, and for LiteRT its delegate partitions: more than one means ops fell back
    to the interpreter between them (what benchmark_model logs as "yielding N partitions")."""
    parts = (r.get("io") or {}).get("delegate_partitions")
    return f"{r['runtime']} {r['runtime_version']}" + ("" if parts is None else f", {parts} part.")


def bench_table(results) -> Table:
    """Latency and memory per artifact, with the runtime, threads, device, CPU and statistic in the title and columns.

    In a terminal narrower than 150 columns the secondary columns (init, first run, mean, p99, min, img/s)
    are left out rather than squeezed: the caption says so, and ``--json`` has everything.
    """
    first = results[0] if results else {}
    env = first.get("environment") or {}
    dot = f", int8 dot product: {int8_dot_product(env['cpu_features'])}" if "cpu_features" in env else ""
    table = Table(title=f"latency on {first.get('device', '?')} ({cpu_label(env)}{dot}, "
                        f"{env.get('usable_cores', '?')} usable cores), batch {first.get('batch', 1)}")
    wide = console.width >= 150
    columns = [  # (header, cell, shown in a narrow terminal)
        ("artifact", None, True), ("runtime", lambda r: _runtime_cell(r), True), ("thr", lambda r: str(r["threads"]), True),
        ("init ms", lambda r: f"{r['init_ms']:.1f}", False), ("first ms", lambda r: _ms(r["first_ms"]), False),
        ("median ms", lambda r: f"[bold]{_ms(r['median_ms'])}[/]", True),
        ("mean ± std", lambda r: f"{_ms(r['mean_ms'])} ± {_ms(r['std_ms'])}", False),
        ("p90", lambda r: _ms(r["p90_ms"]), True), ("p99", lambda r: _ms(r["p99_ms"]), False),
        ("min", lambda r: _ms(r["min_ms"]), False), ("img/s", lambda r: f"{r['throughput_ips']:,.0f}", False),
        ("spread", lambda r: f"{r['spread_pct']:.1f}%", True), ("peak RSS", lambda r: f"{r['peak_rss_mb']:.0f} MiB", True),
        ("size", lambda r: f"{r['size_bytes'] / 1024:,.0f} KiB", True),
    ]
    columns = [c for c in columns if wide or c[2]]
    for header, _, _ in columns:  # figures never wrap or shorten; artifact and runtime fold
        table.add_column(header, justify="left" if header in ("artifact", "runtime") else "right",
                         no_wrap=header not in ("artifact", "runtime"), overflow="fold")
    for r, name in zip(results, _distinct([r["artifact"] for r in results])):
        table.add_row(name, *(cell(r) for _, cell, _ in columns[1:]))
    if results:
        table.caption = (f"{first['statistic']}; inputs: {first['inputs']}; spread = range of the per-round "
                         f"medians / median; part. = delegate partitions (1 = the whole graph delegated); "
                         f"peak RSS = the worker process's own maximum resident set"
                         + ("; ONNX Runtime int8 ran its exact U8U8 kernel (session.x64quantprecision=1: this x86 CPU "
                            "has no VNNI, and ORT's default U8S8 kernel saturates there)"
                            if any((r.get("io") or {}).get("int8_kernel") == "u8u8" for r in results) else "")
                         + ("" if wide else "; init, first run, mean, p99, min and img/s in a terminal 150 "
                            "columns wide, or with --json"))
    return table


def eval_tables(results: list[dict]) -> list[Table]:
    """The accuracy tables: classifiers by top-1, segmenters by mIoU (each with its per-class IoU)."""
    dense = [r for r in results if r.get("task") == "segmentation"]
    boxes = [r for r in results if r.get("task") == "detection"]
    rest = [r for r in results if r.get("task") not in ("segmentation", "detection")]
    return (([eval_table(rest)] if rest else []) + (segmentation_tables(dense) if dense else [])
            + (detection_tables(boxes) if boxes else []))


def detection_tables(results: list[dict]) -> list[Table]:
    """COCO mAP (pycocotools) per artifact, then AP per category side by side."""
    table = Table(title="detection accuracy (COCO, pycocotools)")
    for col in ("artifact", "data", "images", "mAP", "mAP@.5", "AR@100", "detections", "post-processing", "runtime", "s"):
        text = col in ("artifact", "data", "runtime", "post-processing")
        table.add_column(col, justify="left" if text else "right", no_wrap=not text, overflow="fold")
    names = _distinct([r["artifact"] for r in results])
    for r, name in zip(results, names):
        table.add_row(name, _short(r["data"]), str(r["count"]), f"[bold]{r['map']:.4f}[/]", f"{r['map50']:.4f}",
                      f"{r['recall']:.4f}", str(r["detections"]), str(r.get("post_processing")),
                      f"{r['runtime']} {r['runtime_version']}", f"{r['seconds']:.1f}")
    notes = sorted({n for r in results for n in r.get("data_notes") or ()})
    table.caption = ("mAP = AP averaged over IoU 0.50:0.95 and the categories, as COCO defines it, by pycocotools' "
                     "COCOeval" + "".join(f"; {n}" for n in notes))
    per = Table(title="AP per category (IoU 0.50:0.95 / 0.50)")
    per.add_column("category")
    for name in names:
        per.add_column(name, justify="right", overflow="fold")
    rows: dict = {}
    for i, r in enumerate(results):
        for row in r.get("per_class_ap") or ():
            rows.setdefault((row["category_id"], row["name"]), {})[i] = row
    for (cid, cname), cells in sorted(rows.items()):
        per.add_row(f"{cid} {cname}", *(f"{cells[i]['ap']:.3f} / {cells[i]['ap50']:.3f}"
                                        if i in cells and cells[i]["ap"] is not None else "-" for i in range(len(results))))
    return [table, per]


def segmentation_tables(results: list[dict]) -> list[Table]:
    """mIoU, pixel accuracy and where the arg-max ran, per artifact; then per-class IoU side by side."""
    table = Table(title="segmentation accuracy")
    for col in ("artifact", "data", "images", "mIoU", "pixel acc", "classes", "output", "arg-max", "runtime", "s"):
        text = col in ("artifact", "data", "runtime", "output", "arg-max")
        table.add_column(col, justify="left" if text else "right", no_wrap=not text, overflow="fold")
    names = _distinct([r["artifact"] for r in results])
    for r, name in zip(results, names):
        table.add_row(name, _short(r["data"]), str(r["count"]), f"[bold]{r['miou']:.4f}[/]" if r.get("miou") is not None
                      else "-", f"{r['pixel_accuracy']:.4f}" if r.get("pixel_accuracy") is not None else "-",
                      str(r.get("classes")), str(r.get("output_form")), str(r.get("arg_max")),
                      f"{r['runtime']} {r['runtime_version']}", f"{r['seconds']:.1f}")
    notes = sorted({n for r in results for n in r.get("data_notes") or ()})
    pictures = [p for r in results for p in r.get("overlays") or ()]
    overlays = [f"{len(pictures)} pictures (image | mask | prediction) in "
                f"{', '.join(sorted({str(Path(p).parent) for p in pictures}))}"] if pictures else []
    table.caption = ("mIoU over the classes in the masks or the predictions; pixels marked 255 are ignored; each "
                     "prediction is scored at its mask's own size" + "".join(f"; {n}" for n in notes + overlays))
    per = Table(title="IoU per class")
    per.add_column("class")
    per.add_column("pixels", justify="right")
    for name in names:
        per.add_column(name, justify="right", overflow="fold")
    rows: dict = {}
    for i, r in enumerate(results):
        for row in r.get("per_class_iou") or ():
            entry = rows.setdefault(row["class"], {"name": row["name"], "pixels": row["pixels"], "iou": {}})
            entry["iou"][i] = row["iou"]
    for c in sorted(rows):
        entry = rows[c]
        per.add_row(f"{c} {entry['name']}", str(entry["pixels"]),
                    *(f"{entry['iou'][i]:.4f}" if i in entry["iou"] else "-" for i in range(len(results))))
    return [table, per]


def eval_table(results: list[dict]) -> Table:
    """Top-1/top-5 per artifact with data set and image count."""
    table = Table(title="accuracy")
    classes = any(r.get("per_class") for r in results)
    ks = {r.get("top_k", 5) for r in results}
    top_k = f"top-{ks.pop()}" if len(ks) == 1 else "top-k"
    cols = ("artifact", "data", "images", "top-1", *(("balanced",) if classes else ()), top_k, "tied", "runtime",
            "preprocessing", "s")
    for col in cols:
        text = col in ("artifact", "data", "runtime", "preprocessing")
        table.add_column(col, justify="left" if text else "right", no_wrap=not text, overflow="fold")
    for r, name in zip(results, _distinct([r["artifact"] for r in results])):
        pre = r["preprocessing"]
        balanced = r.get("balanced_top1")
        table.add_row(name, _short(r["data"]), str(r["count"]), f"[bold]{r['top1']:.1%}[/]",
                      *((f"{balanced:.1%}" if balanced is not None else "",) if classes else ()),
                      f"{r['top5']:.1%}" if r.get("top5") is not None else "-",
                      str(r.get("tied_top1", "")),
                      f"{r['runtime']} {r['runtime_version']}", f"x*{_vector(pre['scale'])}{_signed(pre['offset'])} "
                      f"({pre['source']})", f"{r['seconds']:.1f}")
    table.caption = ("tied: images whose top score is shared by several classes (common with int8 outputs); "
                     "a tie shares its credit (the expected accuracy under random tie-breaking)"
                     + ("; balanced: the mean of the per-class top-1 (what counts when classes are imbalanced)"
                        if classes else ""))
    return table


def _vector(value) -> str:
    return "(" + ",".join(f"{v:.4g}" for v in value) + ")" if isinstance(value, (list, tuple)) else f"{value:.6g}"


def _signed(value) -> str:
    return "+(" + ",".join(f"{v:.4g}" for v in value) + ")" if isinstance(value, (list, tuple)) else f"{value:+g}"


def _confusion_choice(results: list[dict]) -> set[int]:
    """Which confusion matrices to print: the first float and the first int8 (the rest: --json, --confusion)."""
    chosen: dict[str, int] = {}
    for i, r in enumerate(results):
        chosen.setdefault(str(r.get("precision") or "?").split("-")[0], i)
    return set(sorted(chosen.values())[:2])


def class_tables(results: list[dict]) -> list[Table]:
    """For N-class evaluations: per-class top-1 side by side (one column per artifact), then each
    artifact's confusion matrix (up to 12 classes; the rest are in --json and the PNG)."""
    results = [r for r in results if r.get("per_class")]
    if not results:
        return []
    names = _distinct([r["artifact"] for r in results])
    per = Table(title=f"per class ({results[0]['count']} images of {_short(results[0]['data'])})")
    per.add_column("class")
    per.add_column("images", justify="right")
    for name in names:
        per.add_column(f"top-1 {name}", justify="right", overflow="fold")
    for i, row in enumerate(results[0]["per_class"]):
        cells = [f"{r['per_class'][i]['top1']:.1%}" if r["per_class"][i]["top1"] is not None else "-" for r in results]
        per.add_row(row["class"], str(row["images"]), *cells)
    tables = [per]
    shown = _confusion_choice(results)
    for i, (r, name) in enumerate(zip(results, names)):
        classes = r["class_names"]
        if len(classes) > 12 or i not in shown:
            continue
        table = Table(title=f"confusion: {name} (rows: true class, columns: predicted)")
        table.add_column("true \\ predicted")
        for c in classes:
            table.add_column(c, justify="right", overflow="fold")
        for c, row in zip(classes, r["confusion"]):
            table.add_row(c, *(str(v) for v in row))
        if r.get("confusion_png"):
            table.caption = f"PNG: {r['confusion_png']}"
        tables.append(table)
    return tables


def _headline(row: dict) -> tuple[str, str]:
    """A stored result's headline figure and its conditions, by kind (each kind says what its number is)."""
    r, value = row["result"], row.get("value")
    if value is None:
        return "-", str(r.get("error") or r.get("statistic") or "")
    if row["kind"] == "bench":
        return f"{value:.3f} ms", r.get("statistic", "")
    if row["kind"] == "profile":
        return f"{value:.3f} ms per-op sum", f"whole model {r.get('whole_ms', float('nan')):.3f} ms; {r.get('method', '')[:60]}"
    metric = {"top1": "top-1"}.get(row.get("metric"), row.get("metric") or "")
    return f"{value:.1%} {metric}", f"{r.get('count')} images of {row['dataset']}"


def results_table(rows: list[dict], db: str) -> Table:
    """Recorded results, newest first."""
    table = Table(title=f"results in {db}")
    for col in ("id", "when", "kind", "artifact", "runtime", "device", "thr", "value", "conditions"):
        table.add_column(col, justify="right" if col in ("id", "thr", "value") else "left")
    for row in rows:
        value, cond = _headline(row)
        table.add_row(str(row["id"]), row["created"].replace("T", " ")[:16], row["kind"], _short(row["artifact"]),
                      f"{row['runtime']} {row['runtime_version']}", row["device"] or "host", str(row["threads"] or ""),
                      value, cond)
    return table


VERDICT_STYLE = {"regressed": "bold red", "improved": "bold green", "unchanged": "", "inconclusive": "yellow",
                 "slower (within threshold)": "yellow", "faster (within threshold)": "green"}


def regress_table(report) -> Table:
    """One regress verdict per entry: ratio, interval, sessions spent, verdict, and the creep since the oldest baseline."""
    pct = f"{report['confidence']:.0%}"
    creep = report.get("creep_threshold")
    title = (f"regress: {report['regressed']} regressed, {report.get('inconclusive', 0)} inconclusive "
             f"(threshold {report['threshold']:.0%}" + (f", creep {creep:.0%}" if creep else "") + ")")
    table = Table(title=title)
    cols = ["entry", "runtime", "thr", "baseline ms", "candidate ms", "ratio", f"{pct} interval", "sessions", "verdict"]
    if creep:
        cols += ["since oldest", "creep"]
    for col in cols:
        text = col in ("entry", "runtime")
        table.add_column(col, justify="left" if text or col in ("verdict", "creep") else "right", no_wrap=not text,
                         overflow="fold")
    for r in report["rows"]:
        label = f"{r['name']} {r['format'] or ''} {r['precision'] or ''}".strip()
        style = VERDICT_STYLE.get(r["verdict"], "")
        sessions = r.get("sessions") or {}
        cells = [label + (" (file changed)" if r["file_changed"] else ""), r["runtime"], str(r["threads"]),
                 _ms(r["baseline_ms"]), _ms(r["candidate_ms"]), f"{r['ratio']:.3f}",
                 f"{r['low']:.3f} - {r['high']:.3f}", f"{sessions.get('candidate', '')}",
                 f"[{style}]{r['verdict']}[/]" if style else r["verdict"]]
        if creep:
            c = r.get("creep") or {}
            cells += [f"{c['ratio']:.3f} ({c['low']:.3f} - {c['high']:.3f})" if c else "",
                      (f"[bold red]{c['verdict']}[/]" if c.get("verdict") == "crept" else c.get("verdict", ""))]
        table.add_row(*cells)
    notes = [report["statistic"]] + [f"[yellow]warning: {w}[/]" for w in report.get("warnings", [])]
    stopping = report.get("stopping")
    if stopping:
        notes.append(f"stopped after {report.get('looks_taken')} of {stopping['looks_planned']} looks "
                     f"({stopping['reason']}), {stopping['seconds']:.0f} s")
    if report["machine_changes"]:
        notes.append("machine changed: " + "; ".join(report["machine_changes"]))
    if report["version_changes"]:
        notes.append("versions changed: " + ", ".join(report["version_changes"]))
    table.caption = " | ".join(notes)
    return table


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def compare_tables(data: dict) -> list[Table]:
    """``edgekit compare``: counts, accuracy and latency ratios, each published figure with its source."""
    counts = Table(title="size: our count beside the published figures")
    for col in ("model", "MACs (M)", "params (M, folded)", "published: source MACs / params (our deviation)"):
        counts.add_column(col, justify="right" if "(M" in col else "left")
    for m in data["models"]:
        pub = "; ".join(f"{c['source']} {c.get('macs_m') or '-'} / {c.get('params_m') or '-'}"
                        + (f" ({100 * c['macs_delta']:+.1f}%)" if c.get("macs_delta") is not None else "")
                        for c in m["counts"])
        counts.add_row(m["model"], f"{m['macs_m']:.1f}" if m["macs_m"] is not None else "-",
                       f"{m['params_m']:.2f}" if m["params_m"] is not None else "-", m.get("note") or pub or "-")
    acc = Table(title="top-1 accuracy, % (float, int8, drop in points)")
    for col in ("model", "who", "data", "float", "int8", "drop", "how"):
        acc.add_column(col, justify="right" if col in ("float", "int8", "drop") else "left")
    for m in data["models"]:
        for row in m["accuracy"]:
            data_label = row["data"] if row["origin"] == "published" else f"{row['data']} ({row['count']} images)"
            how = row.get("cite", "") if row["origin"] == "published" else f"{row['format']}, {row['runtime']}"
            acc.add_row(m["model"], row["who"], data_label, _pct(row.get("float")), _pct(row.get("int8")),
                        _pct(row.get("drop")), how[:70])
    acc.caption = data["notes"]["eval300"]
    if data["easy_subset"]:
        acc.caption += "; measured: " + ", ".join(
            f"Google's {e['model']} {e['precision']} scores {e['top1_here']:.1f} on {e['data']} vs "
            f"{e['top1_published']:.1f} published ({e['easier_by']:+.1f})" for e in data["easy_subset"])
    ratios = Table(title="latency ratios: what the sources imply, and ours")
    for col in ("ratio", "published", "source, device", "ours", "our conditions"):
        ratios.add_column(col, justify="right" if col in ("published", "ours") else "left")
    for r in data["ratios"]:
        ours = r["ours"] or [None]
        for i, o in enumerate(ours):
            ratios.add_row(r["name"] if i == 0 else "", f"{r['published']:.2f}" if i == 0 else "",
                           f"{r['source']}, {r['device']}" if i == 0 else "",
                           f"[bold]{o['value']:.2f}[/]" if o else "not measured",
                           (f"{o['runtime']} {o['runtime_version']}, {o['threads']} thread(s), {o['device']}, "
                            f"{o['numerator_ms']:.3g} / {o['denominator_ms']:.3g} ms"
                            + ("" if o["same_session"] else ", separate sessions")) if o else "")
    ratios.caption = "latency: median of interleaved rounds per artifact (see 'edgekit results' for each statistic)"
    return [counts, acc, ratios]


def quant_report_table(report: dict, top: int = 20) -> Table:
    """Worst tensors first; RMSE/scale near 0.29 is rounding alone, above the threshold is suspect."""
    table = Table(title=f"int8 error per layer: {report['model']} {report['format']} ({report['flagged']} of "
                        f"{len(report['layers'])} tensors above RMSE/scale {report['threshold']})")
    for col in ("layer", "op", "scale", "zp", "float range", "RMSE/scale", "SQNR dB"):
        table.add_column(col, justify="left" if col in ("layer", "op") else "right")
    for row in report["layers"][:top]:
        ratio = row["rmse_per_scale"]
        shown = "-" if ratio is None else (f"[bold red]{ratio:.2f}[/]" if row["flagged"] else f"{ratio:.2f}")
        table.add_row(row["layer"], row["op"], "-" if row["scale"] is None else f"{row['scale']:.4g}",
                      "-" if row["zero_point"] is None else str(row["zero_point"]),
                      f"{row['float_min']:.3g} .. {row['float_max']:.3g}", shown,
                      "-" if row["sqnr_db"] is None else f"{row['sqnr_db']:.1f}")
    table.caption = (f"{report['tool']}; calibration {report['calibration']['source']} "
                     f"({report['calibration']['count']} images), debug images {report['check']['source']} "
                     f"({report['check']['count']}); RMSE/scale {report['healthy']} = rounding alone")
    return table


def relu6_table(report: dict) -> Table:
    """The ReLU6 study: both activations side by side."""
    table = Table(title=f"ReLU6 vs ReLU, {report['model']} ({report['data']['count']} images of "
                        f"{report['data']['source']})")
    for col in ("activation", "float top-1", "int8 top-1", "drop", "agreement", "SQNR", "max |act| (median layer)",
                "worst RMSE/scale"):
        table.add_column(col, justify="left" if col == "activation" else "right")
    for name, v in report["variants"].items():
        acts = [layer["max_abs_activation"] for layer in v["layers"]]
        worst = max((layer.get("rmse_per_scale") or 0) for layer in v["layers"])
        table.add_row("ReLU6 (as trained)" if name == "relu6" else "ReLU", f"{v['float_top1']:.1f}%",
                      f"{v['int8_top1']:.1f}%", f"{v['int8_drop']:.1f}", f"{v['int8_agreement']:.0f}%",
                      f"{v['int8_sqnr_db']:.1f} dB", f"{max(acts):.1f} ({sorted(acts)[len(acts) // 2]:.1f})",
                      f"{worst:.2f}")
    return table


def devices_table(rows: list[dict]) -> Table:
    """Device profiles and whether each is reachable."""
    table = Table(title="devices")
    for col in ("name", "reach", "threads", "runtimes", "reachable", "why"):
        table.add_column(col, overflow="fold")
    for r in rows:
        ok = r.get("reachable")
        table.add_row(r["name"], r["reach"], str(r["threads"]), ", ".join(r["runtimes"]) +
                      (f" + {r['delegate']}" if r.get("delegate") else ""),
                      "" if ok is None else ("[green]yes[/]" if ok else "[red]no[/]"),
                      escape(r.get("reason", r["description"])))
    return table


def edgetpu_table(result: dict, all_ops: bool = False):
    """Which ops the Edge TPU compiler would map."""
    what = "compiled" if result["compiled"] else "predicted"
    if not result["ops_on_cpu"] and not all_ops:
        return (f"Edge TPU mapping ({what}): all {result['ops_total']} ops on the Edge TPU, none on the CPU "
                f"(rules: {result['rules']['url']}; --all-ops lists them)")
    table = Table(title=f"Edge TPU mapping ({what}): {result['ops_on_tpu']} of {result['ops_total']} ops on the "
                        f"Edge TPU, {result['ops_on_cpu']} on the CPU")
    for col in ("#", "op", "where", "why"):
        table.add_column(col, overflow="fold")
    after = [op for op in result["ops"] if op["reason"].startswith("after ")]
    for op in result["ops"]:
        if op in after and not all_ops:
            continue
        if all_ops or not op["mapped"]:
            table.add_row(str(op["index"]), op["op"], "TPU" if op["mapped"] else "[red]CPU[/]", escape(op["reason"]))
    if after and not all_ops:
        table.add_row(f"{after[0]['index']}..{after[-1]['index']}", f"{len(after)} ops", "[red]CPU[/]",
                      escape(after[0]["reason"]) + " (--all-ops lists them)")
    first = result["first_unsupported"]
    notes = [f"first unsupported: #{first['index']} {first['op']}" if first else "no op cuts the graph"]
    notes += [f"advice: {a}" for a in result["advice"]]
    notes.append(f"rules: {result['rules']['title']} ({result['rules']['url']})")
    table.caption = "\n".join(notes)
    return table


def sweep_progress(total: int):
    """A context manager yielding update(counts): cells done / failed / left, and the phase."""
    import contextlib

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def bar():
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        task = progress.add_task("sweep", total=total, counts="")
        with progress:
            def update(c: dict) -> None:
                progress.update(task, completed=c["done"] + c["failed"] + c["skipped"], description=c["phase"],
                                counts=f"{c['done']} done, {c['failed']} failed, {c['left']} left")
            yield update
    return bar()


def sweep_table(summary: dict) -> Table:
    """A sweep's outcome: cells done, failed, skipped and the time of each phase."""
    s = summary["seconds"]
    table = Table(title=f"sweep {summary['sweep']['name']}: {summary['done']} of {summary['cells']} cells done, "
                        f"{summary['failed']} failed, {summary['skipped']} skipped ({summary['executor']})")
    for col in ("step", "what", "error"):
        table.add_column(col, overflow="fold")
    for f in summary["failures"]:
        table.add_row(f["step"], f["cell"], escape(f["error"]))
    for w in summary.get("warnings") or []:  # the converters' warnings, e.g. synthetic calibration
        table.add_row("[yellow]warning[/]", f"convert {w['model']}", escape(w["warning"]))
    a = summary["artifacts"]
    table.caption = (f"artifacts: {a['total']} ({a['converted']} converted, {a['cache_hits']} from the cache); "
                     f"wall {s['total']:.1f} s (convert {s['convert']:.1f}, bench {s.get('bench', 0):.1f}, "
                     f"eval {s.get('eval', 0):.1f}); results in {summary['db']}; 'edgekit report --db' plots them")
    return table


def v3_ablations_table(report: dict) -> Table:
    """Each MobileNetV3 redesign undone: its MAdds, params and latency deltas here beside the paper's."""
    from edgekit.zoo.spec import format_alpha

    keys = sorted({k for row in report["rows"] for k in row["latency"]},
                  key=lambda k: (k.split("-")[0], k.endswith("int8")))
    size = f"{format_alpha(report['alpha'])}, {report['resolution']} px"
    table = Table(title=f"MobileNetV3's redesigns undone ({size}): what each costs here, beside the v3 paper")
    for col in ("variant", "MMACs", "Δ MMACs", "params", *(f"{k} ms (Δ)" for k in keys), "paper (Pixel 1, 224 px)"):
        table.add_column(col, justify="left" if col in ("variant", "paper (Pixel 1, 224 px)") else "right",
                         overflow="fold", no_wrap=col not in ("variant", "paper (Pixel 1, 224 px)"))
    for row in report["rows"]:
        paper = row.get("paper") or {}
        said = []
        if "macs_delta_m" in paper:
            said.append(f"+{paper['macs_delta_m']} M MAdds")
        if "latency_delta_ms" in paper:
            said.append(f"+{paper['latency_delta_ms']} ms" + (f" ({paper['latency_share']:.0%} of the time)"
                                                              if paper.get("latency_share") else ""))
        if "baseline_latency_ms" in paper:
            said.append(f"{paper['latency_ms']} ms against {paper['baseline_latency_ms']} ms with h-swish")
        cells = []
        for k in keys:
            lat = row["latency"].get(k)
            cells.append("" if lat is None else f"{lat['median_ms']:.3f}" if row["ablation"] == "as published" else
                         f"{lat['median_ms']:.3f} ({lat['delta_ms']:+.3f}, {lat['delta_pct']:+.1f}%)")
        table.add_row(row["model"], f"{row['macs'] / 1e6:.1f}",
                      "" if row["ablation"] == "as published" else f"{row['macs_delta'] / 1e6:+.1f}",
                      f"{row['params'] / 1e6:.2f} M", *cells, "; ".join(said) or ("" if row["ablation"] ==
                                                                                  "as published" else "not published"))
    c = report["conditions"]
    features = ", ".join(f for f in c["cpu_features"] if "vnni" in f or "dot" in f or f in ("avx2", "avx512f"))
    table.caption = (f"Δ against the network as published, in the same interleaved session; {c['statistic']}, "
                     f"{c['threads']} thread(s), on {cpu_label(c)} ({features or 'no dot-product features'}); MMACs a "
                     f"plain count; paper: what the redesign saved (v3 paper Sec. 5.1, Table 5; published.toml)")
    return table


def keep_float_table(report: dict) -> Table:
    """Float, int8 and mixed side by side."""
    kept = report["keep_float"]
    table = Table(title=f"{report['model']}: float, int8 and mixed (kept float: "
                        f"{', '.join(kept.get('layers') or []) or kept.get('request', '?')})")
    for col in ("variant", "top-1", "drop", "top-5", "agree", "SQNR", "median ms", "size"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in report["rows"]:
        table.add_row(r["variant"], f"{r['top1']:.1%}", f"{r['drop_pts']:+.1f} pt", f"{r['top5']:.1%}",
                      f"{r['agreement_with_float']:.0%}", "" if r["sqnr_db"] is None else f"{r['sqnr_db']:.1f} dB",
                      _ms(r["median_ms"]), f"{r['size_bytes'] / 1024:,.0f} KiB")
    first = report["rows"][0]
    table.caption = (f"top-1 on {first['count']} images of {report['data']}; agreement and SQNR against float on "
                     f"{report['parity_images']['count']} parity images; latency: {first['runtime']}, "
                     f"{first['threads']} thread(s), {first['statistic']}, one interleaved session")
    return table


def _cpu(ledger: dict) -> str:
    env = ledger.get("environment") or {}
    features = env.get("cpu_features") or []
    return f"{cpu_label(env)} ({', '.join(features[-3:]) or 'features ?'})"


def ledger_tables(ledgers: list[dict], top: int = 15) -> list[Table]:
    """``edgekit profile``: per artifact the slowest ops with their MACs, shares and flags; then the totals
    by op kind of every artifact side by side, beside the v1 paper's Table 2."""
    tables = []
    names = _distinct([lg["artifact"] for lg in ledgers])
    for lg, name in zip(ledgers, names):
        table = Table(title=f"where the time goes: {name} ({lg['runtime']} {lg['runtime_version']}, "
                            f"{lg['threads']} thread(s), {lg['device']})")
        roofed = bool((lg.get("roof") or {}).get("by_kind") is not None)
        for col in ("#", "op", "kind", "output", "µs", "time", "MMACs", "MACs", "GMAC/s", *(("roof",) if roofed else ()),
                    "params", "TPU", "flags"):
            table.add_column(col, justify="left" if col in ("op", "kind", "output", "TPU", "flags") else "right",
                             no_wrap=col not in ("kind",), overflow="fold")
        rows = sorted(lg["ops"], key=lambda r: -(r["ms"] or 0))[:top]
        for r in rows:
            table.add_row(str(r["index"]), r["op"], r["kind"], "x".join(map(str, r["shape"][1:])),
                          f"{1000 * r['ms']:.1f}" if r["ms"] is not None else "-", f"{r['time_share']:.1%}",
                          f"{r['macs'] / 1e6:.2f}" if r["macs"] else "", f"{r['mac_share']:.1%}" if r["macs"] else "",
                          f"{r['gmacs']:.1f}" if r.get("gmacs") else "",
                          *((f"{r['roof_fraction']:.0%} {r['bound'][:3]}" if r.get("roof_fraction") is not None else "",)
                            if roofed else ()),
                          f"{r['params']:,}" if r["params"] else "",
                          r.get("edgetpu") or "", ("[yellow]" + " ".join(r["flags"]) + "[/]") if r["flags"] else "")
        gap = lg["gap_pct"]
        verdict = ("within" if lg["within_limit"] else "[bold red]OUTSIDE[/]") + f" the {lg['gap_limit_pct']:.0f}% limit"
        extra = (f"; invoke overhead {1000 * lg['invoke_overhead_ms']:.1f} µs subtracted per op"
                 if lg.get("invoke_overhead_ms") is not None else "")
        if lg.get("node_overhead_ms") is not None:
            extra += f"; the profiler's own {1000 * lg['node_overhead_ms']:.1f} µs subtracted per node"
        if lg.get("measured_gap_pct") is not None:
            if lg.get("profiler_gap_pct") is not None:
                extra += f"; profiler's raw sum {lg['profiler_sum_ms']:.3f} ms ({lg['profiler_gap_pct']:+.1f}%)"
            extra += (f"; measured sum {lg['measured_sum_ms']:.3f} ms ({lg['measured_gap_pct']:+.1f}%)"
                      + (", apportioned to the whole-model median by each op's share" if lg.get("apportioned") else ""))
        untimed = lg.get("untimed_ops") or []
        if untimed:
            counts = {name: untimed.count(name) for name in dict.fromkeys(untimed)}
            extra += ("; not profiled (cannot run as a one-op model, e.g. a custom op; in the whole-model time only): "
                      + ", ".join(f"{n} x{c}" if c > 1 else n for n, c in counts.items()))
        if lg.get("profiled_ms"):
            extra += (f"; profiled run {lg['profiled_ms']:.3f} ms = +{lg['profiler_overhead_pct']:.0f}% over unprofiled "
                      f"(ORT's profiler overhead)")
        table.caption = (f"{len(rows)} slowest of {len(lg['ops'])} ops; sum of ops {lg['sum_ms']:.3f} ms vs whole model "
                         f"{lg['whole_ms']:.3f} ms (median, same run): {gap:+.1f}%, {verdict}{extra}; method: "
                         f"{lg['method']}; {lg['runs_per_op']} runs per op; CPU {_cpu(lg)}; slow = time share > 2x MAC "
                         f"share (and >= 2% of the time), overhead = such time in ops without MACs" + _roof_caption(lg))
        tables.append(table)
    kinds = Table(title="by op kind: time share beside MAC share (and the v1 paper's Table 2)")
    for col in ("kind", "MACs", "params", "v1 paper MACs / params"):
        kinds.add_column(col, justify="left" if col == "kind" else "right")
    for name in names:
        kinds.add_column(f"time {name}", justify="right", overflow="fold")
    order: list[str] = []
    for lg in ledgers:
        order += [k["kind"] for k in lg["by_kind"] if k["kind"] not in order]
    first = {k["kind"]: k for k in ledgers[0]["by_kind"]} if ledgers else {}
    for kind in order:
        ref = first.get(kind) or next((k for lg in ledgers for k in lg["by_kind"] if k["kind"] == kind), {})
        paper = (f"{ref['paper_mac_pct']:.2f}% / {ref['paper_param_pct']:.2f}%"
                 if ref.get("paper_mac_pct") is not None else "")
        cells = []
        for lg in ledgers:
            k = next((k for k in lg["by_kind"] if k["kind"] == kind), None)
            cells.append(f"{k['time_share']:.1%} ({1000 * k['ms']:.0f} µs)" if k else "-")
        kinds.add_row(kind, f"{ref.get('mac_share', 0):.1%}" if ref.get("macs") else "",
                      f"{ref['param_share']:.1%}" if ref.get("param_share") and ref.get("params") else "", paper, *cells)
    kinds.caption = (f"MACs and params: {names[0] if names else ''}'s graph (a 1x1 conv on a pooled map is SE before the "
                     f"head, FC after it); paper: {ledgers[0]['paper'] if ledgers else ''}")
    return tables + [kinds]


def _roof_caption(lg: dict) -> str:
    """The roofline's line under a ledger: the roofs, and the kind of op furthest from its roof."""
    roof = lg.get("roof") or {}
    if roof.get("missing"):
        return f"; roofline: {roof['missing']}"
    if not roof:
        return ""
    far = roof.get("furthest")
    text = (f"; roof (measured {roof.get('measured')}): float32 {roof['fp32_gmacs']:.0f} GMAC/s, int8 "
            f"{roof['int8_gmacs']:.0f} GMAC/s, {roof['gbps']:.1f} GB/s; roof % = the op's GMAC/s (or GB/s) over "
            f"its roof, com(pute) or mem(ory) bound")
    if far:
        text += (f"; furthest from its roof: {far['kind']} at {far['roof_fraction']:.0%}, {1000 * far['lost_ms']:.0f} "
                 f"µs of its {1000 * far['ms']:.0f} µs lost to the distance")
    return text


def roof_table(roof: dict) -> Table:
    """``edgekit roof``: the device's compute peaks and bandwidth, with how they were measured."""
    table = Table(title=f"roofs of {roof['device']} ({cpu_label(roof)}, {roof['runtime']}, {roof['threads']} thread(s))")
    for col in ("roof", "value", "kernel", "median ms"):
        table.add_column(col, justify="right" if col in ("value", "median ms") else "left", overflow="fold")
    k = roof["kernels"]
    table.add_row("float32 compute", f"{roof['fp32_gmacs']:.1f} GMAC/s", k["compute"], f"{roof['kernel_ms']['fp32']:.3f}")
    table.add_row("int8 compute", f"{roof['int8_gmacs']:.1f} GMAC/s", k["compute"], f"{roof['kernel_ms']['int8']:.3f}")
    table.add_row("memory bandwidth", f"{roof['gbps']:.1f} GB/s", k["memory"], f"{roof['kernel_ms']['memory']:.3f}")
    features = ", ".join(roof.get("cpu_features") or []) or "none recorded"
    table.caption = (f"{roof['statistic']}; CPU features: {features}; stored in {roof.get('stored')} for "
                     f"'edgekit profile' on the same device, CPU, runtime and thread count")
    return table


def _fit_line(fit: dict) -> str:
    v = fit.get("validation") or {}
    if not v.get("n"):
        return "no held-out validation"
    return (f"fit on {fit['trained_on']} variants, validated on {v['n']} held out ({fit.get('split')}): "
            f"{v['within_10']:.0%} within ±10%, {v['within_20']:.0%} within ±20%, median |error| "
            f"{v['median_abs_err_pct']:.1f}%" + (f" (the measurements' own spread, range of per-round medians / "
                                                  f"median: {v['median_spread_pct']:.1f}%)"
                                                  if v.get("median_spread_pct") is not None else ""))


def _fit_conditions(fit: dict) -> str:
    features = ", ".join((fit.get("cpu_features") or [])[-3:]) or "features ?"
    return (f"{fit['runtime']} {fit.get('runtime_version') or ''} {fit['precision']}, {fit['threads']} thread(s), "
            f"device {fit['device']} ({cpu_label(fit)}; {features})")


def latency_fit_tables(fitted: dict) -> list[Table]:
    """``edgekit estimate --fit``: per runtime and precision, the held-out variants measured vs estimated and the
    validation figures; then the ledgers' sums against the whole-model medians, before and after apportioning."""
    tables = []
    for fit in fitted["fits"]:
        table = Table(title=f"latency model: {_fit_conditions(fit)}")
        for col in ("held-out variant", "measured ms", "spread", "ESTIMATED ms", "error"):
            table.add_column(col, justify="left" if col == "held-out variant" else "right")
        for r in fit["validation"]["rows"]:
            spread = f"{r['spread_pct']:.1f}%" if r.get("spread_pct") is not None else "-"
            table.add_row(r["model"], f"{r['measured_ms']:.3f}", spread, f"{r['estimated_ms']:.3f}",
                          f"{100 * (r['estimated_ms'] / r['measured_ms'] - 1):+.1f}%")
        t = fit["training"]
        table.caption = (_fit_line({**fit, "trained_on": len(fit["trained_on"])})
                         + (f"; on its own training variants median |error| {t['median_abs_err_pct']:.1f}%"
                            if t.get("n") else "")
                         + (f"; skipped (ledger and architecture did not line up): {', '.join(fit['skipped'])}"
                            if fit.get("skipped") else "")
                         + f"; measured: {fit['statistic']}; stored in {fitted.get('stored')}")
        tables.append(table)
    sums = Table(title="ledgers: per-op sums against the whole-model median of the same run")
    for col in ("model", "runtime", "precision", "bench ms", "whole ms", "profiler raw", "measured sum", "ledger sum"):
        sums.add_column(col, justify="left" if col in ("model", "runtime", "precision") else "right")
    for r in fitted["ledger_sums"]:
        raw = f"{r['profiler_gap_pct']:+.1f}%" if r.get("profiler_gap_pct") is not None else "-"
        sums.add_row(r["model"], r["runtime"], r["precision"], f"{r['bench_ms']:.3f}", f"{r['whole_ms']:.3f}", raw,
                     f"{r['measured_gap_pct']:+.1f}%", f"{r['gap_pct']:+.1f}%")
    sums.caption = ("bench ms: the suite's bench session (what the fit is held to); whole ms: the profile's own "
                    "whole-model median, the ledger's reference; profiler raw: ORT's kernel times as its profiler gives them; measured sum: less ORT's own per-node "
                    "cost, or LiteRT's one-op models less the per-invoke cost; ledger sum: the whole-model median "
                    "apportioned by the measured shares (what 'profile' shows)")
    return tables + [sums]


def estimate_table(got: dict) -> Table:
    """``edgekit estimate``: each variant's ESTIMATED latency, its MACs and parameters, under the fit named."""
    fit = got["fit"]
    table = Table(title=f"ESTIMATED latency (not measured): {_fit_conditions(fit)}")
    for col in ("model", "ESTIMATED ms", "MMACs", "params (M)"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in got["estimates"]:
        table.add_row(r["model"], f"~{r['estimated_ms']:.3f}", f"{r['macs'] / 1e6:.1f}", f"{r['params'] / 1e6:.2f}")
    table.caption = f"kernel-level model; {_fit_line(fit)}; fitted {fit.get('fitted')}"
    return table


def pick_table(picked: dict) -> Table:
    """``edgekit pick``: the Pareto front under the budget, fastest first."""
    fit = picked["fit"]
    table = Table(title=f"pick: {', '.join(picked['families'])} under {picked['budget_ms']:g} ms (ESTIMATED, "
                        f"{_fit_conditions(fit)})")
    verified = picked.get("verified")
    cols = ("model", "ESTIMATED ms") + (("bench ms", "error", "spread") if verified else ()) + (
        "top-1 %", "MMACs", "top-1 from")
    for col in cols:
        table.add_column(col, justify="left" if col in ("model", "top-1 from") else "right", overflow="fold")
    for r in picked["front"]:
        measured = ()
        if verified:
            over = "" if r.get("measured_under_budget", True) else " OVER"
            measured = (f"{r['measured_ms']:.3f}{over}", f"{r['error_pct']:+.1f}%",
                        f"{r['spread_pct']:.0f}%" if r.get("spread_pct") is not None else "-")
        table.add_row(r["model"], f"~{r['estimated_ms']:.3f}", *measured, f"{r['top1']:.1f}", f"{r['macs'] / 1e6:.0f}",
                      r["top1_source"] or "")
    under = sum(r["under_budget"] for r in picked["variants"])
    extra = (f"; under the budget without a published top-1 (not ranked): {len(picked['unpublished_under_budget'])}"
             if picked["unpublished_under_budget"] else "")
    table.caption = (f"the Pareto front (no faster variant is as accurate) of {under} of {len(picked['variants'])} "
                     f"variants estimated under the budget{extra}; top-1: the papers' float ImageNet figures; "
                     f"{_fit_line(fit)}" + (f"; plot: {picked['plot']}" if picked.get("plot") else ""))
    if verified:
        table.caption += (f"; verified: each variant converted ({verified['weights']}) and benched on "
                          f"{verified['device']} ({verified['runtime']}, {verified['threads']} thread(s), "
                          f"{verified['statistic']}), median |error| {verified['median_abs_err_pct']:.1f}%, "
                          f"{'all' if verified['all_under_budget'] else 'NOT all'} measured under the budget; "
                          f"spread = the range of bench's per-round medians")
    return table


def cost_table(result: dict) -> Table:
    """``edgekit cost``: each way to build the layer with its mult-adds, parameters and ratio to standard."""
    h, w, m = result["in"]
    table = Table(title=f"one layer: {h}x{w}x{m} -> {result['out_channels']} channels, {result['kernel']}x"
                        f"{result['kernel']} kernel, stride {result['stride']} (output {result['out_spatial'][0]}x"
                        f"{result['out_spatial'][1]})")
    for col in ("layer", "mult-adds", "params", "vs standard", "formula"):
        table.add_column(col, justify="right" if col in ("mult-adds", "params", "vs standard") else "left")
    for row in result["rows"]:
        macs = f"{row['macs']:,.2f}" if row["macs"] != int(row["macs"]) else f"{int(row['macs']):,}"
        table.add_row(row["name"], macs, f"{int(row['params']):,}", f"{row['ratio_to_standard']:.4f}", row["formula"])
    table.caption = (f"separable / standard = {result['ratio']['formula']} = {result['ratio']['exact']} = "
                     f"{result['ratio']['value']:.4f}; D_F is the output side; {result['source']}")
    return table
