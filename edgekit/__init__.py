"""edgekit: MobileNet-class classifiers from the papers to the device.

The Python API (``edgekit.api``, re-exported here): ``convert``, ``quant_report``, ``bench``,
``profile``, ``evaluate``, ``regress``, ``compare``, ``report``, ``sweep``, ``results``, ``cost``, the studies, and
``Store`` for the results database. Each returns typed, frozen records (``Artifact``,
``BenchResult``, ``EvalResult``, ...) and raises ``EdgekitError`` for bad input.

The pipeline, one subpackage a stage, layers that only point down (pyproject's import contract):
zoo -> data -> run -> quant -> export -> measure/devices -> record -> compare/report/sweep/studies
-> api -> cli. Importing ``edgekit`` never imports TensorFlow; the API is loaded on first use.
"""

from edgekit.version import __version__

from edgekit.errors import EdgekitError
from edgekit.zoo.spec import ModelSpec, parse_model

_API = (
    "Artifact", "BenchResult", "BenchRun", "EvalResult", "EvalRun", "QuantReport", "RegressReport", "Store", "SweepSummary",
    "bench", "classify", "compare", "convert", "cost", "devices", "edgetpu_check", "estimate", "evaluate", "fit_latency",
    "models", "pick", "profile", "roof",
    "quant_report", "regress", "report", "results", "study_keep_float", "study_relu6", "summary", "sweep",
)

__all__ = ["EdgekitError", "ModelSpec", "parse_model", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:  # loaded on first use: ``import edgekit`` stays light for ``edgekit --help`` and the Pi
        from edgekit import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgekit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
