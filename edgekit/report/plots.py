"""The report's three pictures (matplotlib, Agg backend, PNG bytes): each titled with its conditions.

1. top-1 vs latency, float and int8 per model, the Pareto front drawn through the points no other
   point beats on both axes;
2. int8 speed-up (float latency / int8 latency) per model and runtime, with the speed-up Google's
   hosted-model table reports for the same model on its phone where there is one;
3. MACs vs measured latency per runtime and precision, with a least-squares line and its R^2.
"""

from __future__ import annotations

from pathlib import Path

import io

from edgekit.errors import EdgekitError
from edgekit.report.data import Point, pareto

COLORS = {"float": "#1f77b4", "int8": "#d62728", "fp16": "#2ca02c", "dynamic": "#9467bd", None: "#7f7f7f"}
MARKERS = {"litert": "o", "onnxruntime": "s"}


def pyplot():
    """matplotlib's pyplot with the Agg backend (no display needed)."""
    try:
        import matplotlib
    except ImportError:
        raise EdgekitError("edgekit report draws with matplotlib: pip install 'edgekit[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig) -> bytes:
    """A figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buf.getvalue()


def _conditions(pts: list[Point]) -> str:
    threads = sorted({p.threads for p in pts})
    devices = sorted({p.device for p in pts})
    return f"{', '.join(devices)}, {'/'.join(map(str, threads))} thread(s), median latency"


def _plain_log_ticks(ax) -> None:
    """Log axis ticks written as plain numbers (0.5, 1, 2, 5, ...), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _label_points(ax, items: list[tuple[float, float, str]], fontsize: float = 7) -> None:
    """Put each label right of its point; a label that would overlap one already placed moves down
    (in screen space) until it is free, and gets a thin leader line back to its point."""
    fig = ax.figure
    fig.canvas.draw()  # fixes the limits and the transform
    to_screen = ax.transData.transform
    height = fontsize * 1.5 * fig.dpi / 72
    placed: list[tuple[float, float, float, float]] = []
    for x, y, text in sorted(items, key=lambda t: -t[1]):
        px, py = to_screen((x, y))
        width = 0.62 * fontsize * len(text) * fig.dpi / 72
        left, top = px + 7, py + height * 1.05  # above-right: clear of the step line
        for _ in range(60):
            box = (left, top - height, left + width, top)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
            top -= height * 0.55
        placed.append(box)
        dy = (top - height / 2) - py
        ax.annotate(text, (x, y), xytext=(7 * 72 / fig.dpi, dy * 72 / fig.dpi), textcoords="offset points",
                    fontsize=fontsize, va="center", bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "#888"} if abs(dy) > height * 1.2 else None)


def accuracy_vs_latency(pts: list[Point]) -> bytes | None:
    """Top-1 against latency, one point per artifact, the Pareto front drawn."""
    pts = [p for p in pts if p.top1 is not None]
    if not pts:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.2))
    for p in pts:
        edge = "black" if p.origin == "google" else "none"
        ax.scatter(p.median_ms, p.top1, s=60, color=COLORS.get(p.precision, "#7f7f7f"),
                   marker=MARKERS.get(p.runtime, "^"), edgecolors=edge, linewidths=1.2, zorder=3)
    front = pareto(pts)
    ax.step([p.median_ms for p in front], [p.top1 for p in front], where="post", color="#444", lw=1.2,
            ls="--", zorder=2, label="Pareto front")
    ax.set_xscale("log")
    ax.margins(x=0.25, y=0.12)
    _label_points(ax, [(p.median_ms, p.top1, f"{p.label} ({p.runtime})") for p in pts])
    for precision in sorted({p.precision for p in pts}, key=str):
        ax.scatter([], [], color=COLORS.get(precision, "#7f7f7f"), label=precision)
    for runtime in sorted({p.runtime for p in pts}):
        ax.scatter([], [], color="white", edgecolors="black", marker=MARKERS.get(runtime, "^"), label=runtime)
    ax.scatter([], [], color="white", edgecolors="black", linewidths=1.2, label="black ring: Google's file")
    data = sorted({f"{p.data} ({p.count} images)" for p in pts})
    _plain_log_ticks(ax)
    ax.set_xlabel("latency, ms (log scale; lower is better)")
    ax.set_ylabel(f"top-1 accuracy, % on {', '.join(data)}")
    ax.set_title(f"Accuracy vs latency: {_conditions(pts)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return png_bytes(fig)


def int8_speedup(rows: list[dict], published: dict[str, float]) -> bytes | None:
    """rows from ``data.speedups``; ``published`` maps model -> float/int8 latency ratio of a source."""
    if not rows:
        return None
    plt = pyplot()
    models = sorted({r["model"] for r in rows})
    runtimes = sorted({r["runtime"] for r in rows})
    width = 0.8 / len(runtimes)
    fig, ax = plt.subplots(figsize=(max(6.5, 1.3 * len(models) + 2), 4.5))
    for j, runtime in enumerate(runtimes):
        xs, ys = [], []
        for i, model in enumerate(models):
            got = [r for r in rows if r["model"] == model and r["runtime"] == runtime]
            if got:
                xs.append(i - 0.4 + width * (j + 0.5))
                ys.append(got[0]["speedup"])
        bars = ax.bar(xs, ys, width=width * 0.9, label=runtime, color=["#1f77b4", "#ff7f0e"][j % 2])
        ax.bar_label(bars, fmt="%.2fx", fontsize=7, padding=2)
    pub = [(i, published[m]) for i, m in enumerate(models) if m in published]
    if pub:
        ax.scatter([i for i, _ in pub], [v for _, v in pub], marker="D", color="black", zorder=4, s=30,
                   label="Google hosted models, Pixel 3 CPU (published)")
    ax.axhline(1.0, color="#444", lw=1, ls="--")
    ax.set_xticks(range(len(models)), models, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("int8 speed-up = float latency / int8 latency")
    threads = sorted({r["threads"] for r in rows})
    ax.set_title(f"int8 speed-up of our exports ({', '.join(sorted({r['device'] for r in rows}))}, "
                 f"{'/'.join(map(str, threads))} thread(s); above 1 = int8 faster)", fontsize=10)
    top = max([r["speedup"] for r in rows] + [v for _, v in pub])
    ax.set_ylim(0, top * 1.2)
    ax.set_xlim(-0.7, len(models) - 0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    ax.grid(True, axis="y", alpha=0.3)
    return png_bytes(fig)


def macs_vs_latency(pts: list[Point]) -> bytes | None:
    """Latency against MACs, one point per artifact."""
    import numpy as np

    pts = [p for p in pts if p.macs_m and p.precision in ("float", "int8")]
    groups: dict = {}
    for p in pts:
        groups.setdefault((p.runtime, p.precision), []).append(p)
    groups = {k: v for k, v in groups.items() if len({p.macs_m for p in v}) >= 2}
    if not groups:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for (runtime, precision), group in sorted(groups.items()):
        x = np.array([p.macs_m for p in group])
        y = np.array([p.median_ms for p in group])
        color = COLORS.get(precision, "#7f7f7f")
        ax.scatter(x, y, color=color, marker=MARKERS.get(runtime, "^"), s=40, zorder=3)
        slope, icept = np.polyfit(x, y, 1)
        fit = slope * x + icept
        r2 = 1 - ((y - fit) ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-12)
        line = np.linspace(0, x.max() * 1.05, 50)
        ax.plot(line, slope * line + icept, color=color, ls="-" if runtime == "litert" else ":", lw=1.2,
                label=f"{runtime} {precision}: {1000 * slope:.1f} us/MMAC + {icept:.2f} ms, R²={r2:.2f}, n={len(x)}")
    ax.set_xlabel("multiply-accumulates per image, millions (MACs)")
    ax.set_ylabel("median latency, ms")
    ax.set_title(f"MACs vs measured latency: {_conditions(pts)}", fontsize=10)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return png_bytes(fig)


def confusion(result: dict) -> bytes:
    """The confusion matrix of one N-class evaluation (rows: true class, columns: predicted), counts in
    the cells, each row shaded by its share."""
    import numpy as np

    plt = pyplot()
    matrix = np.asarray(result["confusion"], dtype=float)
    names = result["class_names"]
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.6 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true class")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class")
    balanced = result.get("balanced_top1")
    ax.set_title(f"{Path(result['artifact']).parent.name}/{Path(result['artifact']).name}: top-1 {result['top1']:.1%}"
                 + (f", balanced {balanced:.1%}" if balanced is not None else "")
                 + f"\n{result['count']} images of {Path(result['data']).name}, {result['runtime']} "
                 f"{result['runtime_version']}", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


def time_vs_macs(ledgers: list[dict]) -> bytes:
    """Per op kind: each artifact's share of the time beside the share of the MACs (bars)."""
    import numpy as np

    plt = pyplot()
    kinds: list[str] = []
    for lg in ledgers:
        kinds += [k["kind"] for k in lg["by_kind"] if k["kind"] not in kinds]
    x = np.arange(len(kinds))
    width = 0.8 / (len(ledgers) + 1)
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(kinds) + 3), 4.5))
    macs = {k["kind"]: k["mac_share"] for k in ledgers[0]["by_kind"]}
    ax.bar(x, [100 * macs.get(k, 0) for k in kinds], width, color="#bbbbbb", label="share of the MACs")
    for i, lg in enumerate(ledgers, start=1):
        share = {k["kind"]: k["time_share"] for k in lg["by_kind"]}
        ax.bar(x + i * width, [100 * share.get(k, 0) for k in kinds], width,
               label=f"time: {Path(lg['artifact']).parent.name}/{Path(lg['artifact']).name} ({lg['runtime']}, "
                     f"{lg['whole_ms']:.3f} ms)")
    ax.set_xticks(x + width * len(ledgers) / 2, kinds, rotation=30, ha="right")
    ax.set_ylabel("% of the model")
    env = ledgers[0].get("environment") or {}
    ax.set_title(f"where the MACs are and where the time goes ({env.get('cpu', '?')}, {ledgers[0]['threads']} thread(s))",
                 fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def pick_plot(picked: dict) -> bytes:
    """``edgekit pick``: the papers' top-1 against the estimated latency of every variant with a published top-1,
    the budget as a line and the Pareto front under it joined."""
    plt = pyplot()
    fit = picked["fit"]
    fig, ax = plt.subplots(figsize=(8, 5.2))
    families = sorted({r["model"].rsplit("-", 2)[0] for r in picked["variants"]})
    for i, family in enumerate(families):
        pts = [r for r in picked["variants"] if r["top1"] is not None and r["model"].rsplit("-", 2)[0] == family]
        ax.scatter([r["estimated_ms"] for r in pts], [r["top1"] for r in pts], s=28, alpha=0.7,
                   color=["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"][i % 4], label=family, zorder=3)
    front = picked["front"]
    ax.plot([r["estimated_ms"] for r in front], [r["top1"] for r in front], "k--", lw=1.2, zorder=2,
            label="Pareto front under the budget")
    _label_points(ax, [(r["estimated_ms"], r["top1"], r["model"]) for r in front])
    ax.axvline(picked["budget_ms"], color="#888", lw=1, ls=":", label=f"budget {picked['budget_ms']:g} ms")
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    validation = fit.get("validation") or {}
    ax.set_xlabel(f"ESTIMATED latency, ms (log; {fit['runtime']} {fit.get('runtime_version') or ''} "
                  f"{fit['precision']}, {fit['threads']} thread(s), {fit['device']}: {fit.get('cpu')}; held-out median "
                  f"|error| {validation.get('median_abs_err_pct', float('nan')):.1f}%)", fontsize=8)
    ax.set_ylabel("top-1 %, ImageNet (the papers' float figures)")
    ax.set_title(f"edgekit pick: {', '.join(picked['families'])} under {picked['budget_ms']:g} ms", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return png_bytes(fig)
