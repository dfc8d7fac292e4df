"""Typed, frozen result records: what ``edgekit.bench``, ``edgekit.evaluate`` and the other API
calls return, what the results store keeps and what ``--json`` prints.

Each record names its headline fields with types; whatever else a measurement reports (timing
samples, per-round medians, I/O details, ...) rides along in ``extra``, so nothing is lost when a
result grows a field. ``to_dict()`` gives the flat dict the store and ``--json`` use, in the order
it was made; ``from_dict()`` reads one back (refusing a newer schema in one line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from edgekit.schema import Record

@dataclass(frozen=True, kw_only=True)
class BenchResult(Record):
    """Latency and memory of one artifact on one device, with the conditions it was measured under."""

    artifact: str  # the file's path
    artifact_sha256: str | None = None
    model: str | None = None  # zoo name, from the sidecar or recognised by name (None: unknown file)
    format: str | None = None
    precision: str | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    device: str = "host"
    threads: int | None = None
    batch: int = 1
    median_ms: float | None = None  # the headline statistic (see ``statistic``)
    statistic: str | None = None  # e.g. "median of 412 runs in 3 interleaved rounds after 10 warm-ups"
    peak_rss_mb: float | None = None
    environment: Mapping[str, Any] | None = None  # the machine's fingerprint (CPU, features, versions)
    id: int | None = None  # row id in the results store, once recorded


@dataclass(frozen=True, kw_only=True)
class EvalResult(Record):
    """Accuracy of one artifact on a labelled data set (top-1/top-5, or a segmenter's mIoU), with its runtime and
    preprocessing."""

    artifact: str
    model: str | None = None
    format: str | None = None
    precision: str | None = None
    data: str | None = None  # the labelled folder
    count: int = 0  # images evaluated
    task: str | None = None  # classification (top-1/top-5) or segmentation (mIoU, pixel accuracy)
    top1: float | None = None
    top5: float | None = None
    miou: float | None = None
    pixel_accuracy: float | None = None
    map: float | None = None  # a detector's COCO mAP@[.5:.95] (pycocotools)
    map50: float | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    threads: int = 1
    crop: float | None = None
    device: str = "host"
    environment: Mapping[str, Any] | None = None
    id: int | None = None


@dataclass(frozen=True, kw_only=True)
class BenchRun:
    """What one ``bench`` call produced: results, the artifacts that failed, where it was recorded."""

    results: tuple[BenchResult, ...]
    errors: tuple[str, ...] = ()
    db: str | None = None  # results store path (None: not recorded)
    baseline: str | None = None  # the baseline file written, if asked

    def to_dict(self) -> dict:
        return {"results": [r.to_dict() for r in self.results], "errors": list(self.errors), "db": self.db,
                "baseline": self.baseline}


@dataclass(frozen=True, kw_only=True)
class EvalRun:
    """What one ``evaluate`` call produced, and where it was recorded."""

    results: tuple[EvalResult, ...]
    db: str | None = None

    def to_dict(self) -> dict:
        return {"results": [r.to_dict() for r in self.results], "db": self.db}


@dataclass(frozen=True, kw_only=True)
class RegressReport(Record):
    """A regress verdict: one row per timed entry, and how many regressed."""

    threshold: float
    confidence: float
    rows: tuple[Mapping[str, Any], ...] = ()
    regressed: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class QuantReport(Record):
    """Per-layer int8 error of a model (worst first), from the converters' own debuggers."""

    model: str
    format: str
    threshold: float
    flagged: int = 0
    layers: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True)
class SweepSummary(Record):
    """A sweep's outcome: cells done, failed and skipped, where the results went."""

    cells: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    db: str | None = None
