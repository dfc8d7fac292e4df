"""Built-in reference workloads: what a baseline is normalised by when the user names none.

Each entry of a baseline is timed in the same rounds as a pinned reference of its own kind (float or
int8, TFLite or ONNX), which cancels the machine's drift (``compare.stats``). When the user gives no
``--reference`` (``edgekit bench FILE --save-baseline base.json``, the simplest command line), edgekit
makes its own: a seeded random-weight zoo model converted with pinned settings and synthetic
calibration images, so any machine with the same converter versions produces the same bytes. The
files go beside the baseline (``base.refs/``) and their sha256 into it; ``regress`` rebuilds a
missing one and refuses (one line) a reference whose bytes changed, since the ratio would then
measure the reference instead of the candidate.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.files import sha256_file
from edgekit.vocab import FORMATS

MODEL = "v1-0.5-160"  # 1/4 of v1's MACs: a few ms, so each round's reference is timed close by
WEIGHTS = "none:0"
KINDS = tuple(f"{fmt}-{kind}" for fmt in FORMATS for kind in ("float", "int8"))
QUANTIZED = ("int8", "int16x8", "int8-mixed", "dynamic")


class ReferenceError(EdgekitError):
    """A reference workload that is missing, cannot be rebuilt, or changed since the baseline."""


def kind_of(result: dict) -> str:
    """The reference kind an artifact's bench result needs: its format, and float or int8."""
    fmt = result.get("format") or ("onnx" if str(result["artifact"]).lower().endswith(".onnx") else "tflite")
    precision = result.get("precision")
    if precision is None:  # a foreign file: an integer input means an integer model
        dtype = (((result.get("io") or {}).get("inputs") or [{}])[0]).get("dtype", "float32")
        precision = "int8" if dtype in ("int8", "uint8") else "float"
    return f"{fmt}-{'int8' if precision in QUANTIZED else 'float'}"


def folder_for(baseline: str | Path) -> Path:
    """Where a baseline's built-in references live: ``<baseline>.refs/`` beside it."""
    baseline = Path(baseline)
    return baseline.with_name(baseline.stem + ".refs")


def build(folder: str | Path, kinds) -> dict[str, dict]:
    """Convert the reference model for ``kinds``; returns {kind: {"path", "sha256", "model"}}."""
    kinds = sorted(set(kinds))
    try:
        from edgekit.export.convert import ConvertOptions, convert
    except ImportError:
        raise ReferenceError("making the built-in reference workloads needs the host install: "
                             "pip install 'edgekit[convert]' (or pass --reference FILE, or --no-reference)") from None
    formats = tuple(sorted({k.split("-")[0] for k in kinds}))
    precisions = tuple(sorted({k.split("-")[1] for k in kinds}))
    artifacts = convert(ConvertOptions.build(MODEL, weights=WEIGHTS, precisions=precisions, formats=formats,
                                       calib_count=16, check_count=4, require="none", ptq="minmax", out=str(folder),
                                       skip_unsupported=True, warn=lambda msg: None))
    made = {f"{a['format']}-{a['precision']}": a for a in artifacts}
    return {kind: {"path": made[kind]["path"], "sha256": made[kind]["sha256"], "model": MODEL, "weights": WEIGHTS}
            for kind in kinds}


def verify(references: dict[str, dict], baseline: str | Path | None = None) -> None:
    """Check every built-in reference file is the one the baseline was timed with; rebuild missing ones."""
    missing = [k for k, r in references.items() if not Path(r["path"]).is_file()]
    if missing:
        folder = Path(references[missing[0]]["path"]).parent.parent
        rebuilt = build(folder, missing)
        for kind in missing:
            if rebuilt[kind]["sha256"] != references[kind]["sha256"]:
                raise ReferenceError(f"the built-in {kind} reference was missing and rebuilds to other bytes "
                                     f"(converter versions differ from the baseline's?): take a new baseline, or "
                                     f"keep {folder} with the baseline")
    for kind, ref in references.items():
        if sha256_file(ref["path"]) != ref["sha256"]:
            raise ReferenceError(f"the {kind} reference {ref['path']} changed since the baseline was taken: "
                                 f"keep reference files pinned, or take a new baseline")
