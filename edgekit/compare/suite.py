"""A benchmark suite file: models x formats x precisions x threads, with the settings to build and time them.

Validated up front (a typo fails before anything runs). ``ensure_artifacts`` converts what is
missing with the *current* code, which is the point in CI: the candidate is what this commit
exports. Each precision (or format-precision) can name a pinned reference file timed in the same
rounds as every entry, to cancel machine drift (see ``compare.stats``).

    name = "ci"
    out = "models/suite-ci"          # artifacts: <out>/<model>/<format>-<precision>.<ext>
    threads = [1]
    [bench]                          # runs, warmup, min_time, rounds
    [convert]                        # weights, calib, calib_count, ptq
    [[grid]]                         # models, formats, precisions (one or more grids)
    [reference]                      # float = "path", int8 = "path", "onnx-int8" = "path"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export.artifact import artifact_path
from edgekit.files import expand_path, read_toml, typed_table
from edgekit.vocab import FORMATS, PRECISIONS
from edgekit.zoo.spec import parse_model
BENCH_KEYS = {"runs": int, "warmup": int, "min_time": float, "rounds": int, "sessions": int}
CONVERT_KEYS = {"weights": str, "calib": str, "calib_count": int, "ptq": str, "preprocess": str}
TOP_KEYS = {"name", "out", "threads", "bench", "convert", "grid", "reference"}


class SuiteError(EdgekitError):
    """A suite file that cannot be read or names something that does not exist."""


@dataclass(frozen=True)
class SuiteEntry:
    """One (model, format, precision) of a suite and the artifact file it stands for."""
    model: str
    format: str
    precision: str
    artifact: Path
    source: str | None = None  # the user's model file, when the entry is not a zoo model


@dataclass
class Suite:
    """A benchmark suite file, validated: its entries, threads, bench and convert settings, pinned references."""
    path: Path
    name: str
    out: Path
    threads: list[int]
    entries: list[SuiteEntry]
    bench: dict = field(default_factory=dict)
    convert: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)

    def reference_for(self, fmt: str, precision: str) -> Path | None:
        """The pinned reference for a (format, precision): a 'format-precision' key wins over a precision key."""
        ref = self.references.get(f"{fmt}-{precision}") or self.references.get(precision)
        return Path(ref) if ref else None

    def to_dict(self) -> dict:
        return {"path": str(self.path), "name": self.name, "out": str(self.out), "threads": self.threads,
                "bench": self.bench, "convert": self.convert,
                "references": {k: str(v) for k, v in self.references.items()},
                "entries": [{"model": e.model, "format": e.format, "precision": e.precision,
                             "artifact": str(e.artifact)} for e in self.entries]}


def load_suite(path: str | Path, check_references: bool = True) -> Suite:
    """Read and validate a suite file before any work starts (a typo is one line of SuiteError)."""
    path = Path(path)
    data = read_toml(path, TOP_KEYS, "suite", SuiteError)
    out = Path(expand_path(str(data.get("out", "models")), "suite", SuiteError))
    threads = data.get("threads", [1])
    if not isinstance(threads, list) or not threads or not all(isinstance(t, int) and t >= 1 for t in threads):
        raise SuiteError(f"suite {path}: threads must be a list of integers >= 1")
    entries: list[SuiteEntry] = []
    for i, grid in enumerate(data.get("grid", [])):
        extra = set(grid) - {"models", "formats", "precisions"}
        if extra:
            raise SuiteError(f"suite {path}: grid {i + 1} has unknown key(s) {', '.join(sorted(extra))}")
        formats, precisions = grid.get("formats", ["tflite"]), grid.get("precisions", ["float"])
        for fmt in formats:
            if fmt not in FORMATS:
                raise SuiteError(f"suite {path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        for precision in precisions:
            if precision not in PRECISIONS:
                raise SuiteError(f"suite {path}: unknown precision {precision!r} (known: {', '.join(PRECISIONS)})")
        for model in grid.get("models", []):
            name, source = _model(model, path)
            for fmt in formats:
                for precision in precisions:
                    entries.append(SuiteEntry(name, fmt, precision, artifact_path(out, name, fmt, precision), source))
    if not entries:
        raise SuiteError(f"suite {path} is empty: add a [[grid]] with models, formats and precisions")
    references = {}
    for key, value in data.get("reference", {}).items():
        ref = Path(expand_path(str(value), "suite", SuiteError))
        if check_references and not ref.is_file():
            raise SuiteError(f"suite {path}: reference {key} = {ref} does not exist "
                             f"(references are pinned files: build or fetch it first)")
        references[key] = ref
    return Suite(path=path, name=str(data.get("name", path.stem)), out=out, threads=threads, entries=entries,
                 bench=typed_table(data.get("bench", {}), BENCH_KEYS, "bench", "suite", SuiteError),
                 convert=typed_table(data.get("convert", {}), CONVERT_KEYS, "convert", "suite", SuiteError,
                                     paths=("calib",)),
                 references=references)


def _model(text: str, path: Path) -> tuple[str, str | None]:
    """(artifact folder name, the user's model file or None) of a suite's model entry."""
    from edgekit.zoo.user import is_model_path, model_name

    if is_model_path(text):
        source = Path(expand_path(text, "suite", SuiteError))
        if not source.exists():
            raise SuiteError(f"suite {path}: model file {source} does not exist")
        return model_name(source), str(source)
    return parse_model(text).name, None  # one-line error with a suggestion for a typo


def ensure_artifacts(suite: Suite, warn=None) -> list[Path]:
    """Convert every missing artifact of the suite (one conversion per model); returns what was built."""
    missing: dict[str, list[SuiteEntry]] = {}
    for entry in suite.entries:
        if not entry.artifact.is_file():
            missing.setdefault(entry.source or entry.model, []).append(entry)
    if not missing:
        return []
    try:
        from edgekit.export.convert import ConvertOptions, convert
    except ImportError:
        raise SuiteError(f"{len(sum(missing.values(), []))} suite artifacts are missing and converting them "
                         f"needs the host install: pip install 'edgekit[convert]'") from None
    built = []
    for model, entries in missing.items():
        user = entries[0].source is not None  # a model file: its own weights; zoo models know their preprocessing
        settings = {k: v for k, v in suite.convert.items() if k not in (("weights",) if user else ("preprocess",))}
        convert(ConvertOptions.build(model, precisions=tuple(dict.fromkeys(e.precision for e in entries)),
                                     formats=tuple(dict.fromkeys(e.format for e in entries)), out=str(suite.out),
                                     skip_unsupported=True, warn=warn, **settings))
        built.extend(e.artifact for e in entries)
    still = [str(e.artifact) for e in suite.entries if not e.artifact.is_file()]
    if still:
        raise SuiteError(f"conversion did not produce {', '.join(still)}")
    return built
