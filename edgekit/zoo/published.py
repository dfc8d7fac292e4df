"""Published numbers (papers, TF-slim and Keras tables, Google's hosted models), read from data.

The figures live in ``published.toml`` with a citation per row; nothing here hard-codes one.
A source's table can be written as ``[[rows]]`` (one entry per figure set) or as ``[[tables]]``
(column names once, then one array per model), and ``[[ratios]]`` name the latency ratios a
source makes a point of (``compare`` sets ours beside them).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

FIELDS = ("macs_m", "params_m", "top1", "top5", "miou", "map", "latency_ms")


@dataclass(frozen=True)
class PublishedRow:
    """One cited row of published.toml: MACs, params, top-1 or latency of a variant, with its source."""
    model: str
    source: str
    cite: str
    url: str
    precision: str = "float"
    where: str | None = None
    values: dict = field(default_factory=dict)
    latency_device: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        out = {"model": self.model, "precision": self.precision, "source": self.source,
               "cite": self.cite, "url": self.url, "where": self.where}
        out.update(self.values)
        if self.latency_device:
            out["latency_device"] = self.latency_device
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class PublishedRatio:
    """latency(numerator) / latency(denominator) as one source measured them on one device."""
    name: str
    source: str
    cite: str
    numerator: tuple[str, str]  # (model, precision)
    denominator: tuple[str, str]
    value: float
    device: str
    claim: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "cite": self.cite,
                "numerator": list(self.numerator), "denominator": list(self.denominator),
                "value": self.value, "device": self.device, "claim": self.claim}


@lru_cache(maxsize=1)
def _data() -> dict:
    text = resources.files("edgekit.zoo").joinpath("published.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _row(raw: dict, sources: dict) -> PublishedRow:
    src = sources[raw["source"]]
    return PublishedRow(
        model=raw["model"], source=raw["source"], cite=src["cite"], url=src["url"],
        precision=raw.get("precision", "float"), where=raw.get("where"),
        values={k: raw[k] for k in FIELDS if k in raw},
        latency_device=raw.get("latency_device"), note=raw.get("note"),
    )


@lru_cache(maxsize=1)
def all_rows() -> tuple[PublishedRow, ...]:
    """Every row of published.toml, read once."""
    data = _data()
    sources = data["sources"]
    rows = [_row(raw, sources) for raw in data.get("rows", [])]
    for table in data.get("tables", []):
        shared = {k: v for k, v in table.items() if k not in ("columns", "rows")}
        for values in table["rows"]:
            if len(values) != len(table["columns"]):
                raise ValueError(f"published.toml: {values} does not match columns {table['columns']}")
            rows.append(_row({**shared, **dict(zip(table["columns"], values))}, sources))
    return tuple(rows)


def rows_for(model_name: str) -> list[PublishedRow]:
    """The published rows of one zoo variant."""
    return [row for row in all_rows() if row.model == model_name]


def latency_row(model: str, precision: str, source: str) -> PublishedRow | None:
    """The published latency of a variant on a device, if any."""
    for row in all_rows():
        if (row.model, row.precision, row.source) == (model, precision, source) and "latency_ms" in row.values:
            return row
    return None


@lru_cache(maxsize=1)
def ablations() -> tuple[dict, ...]:
    """The published effect of each MobileNetV3 redesign (v3 paper Sec. 5.1, Table 5), with its source's cite."""
    sources = _data()["sources"]
    return tuple({**raw, "cite": sources[raw["source"]]["cite"], "url": sources[raw["source"]]["url"]}
                 for raw in _data().get("ablations", []))


@lru_cache(maxsize=1)
def ratios() -> tuple[PublishedRatio, ...]:
    """The named ratios of the data file, then int8/float of every model a source timed both ways."""
    sources = _data()["sources"]
    out: list[PublishedRatio] = []

    def make(name, source, num, den, claim=None):
        top, bottom = latency_row(*num, source), latency_row(*den, source)
        if top is None or bottom is None:
            raise ValueError(f"published.toml: ratio {name!r} needs latencies of {num} and {den} from {source}")
        if top.latency_device != bottom.latency_device:
            raise ValueError(f"published.toml: ratio {name!r} mixes devices")
        return PublishedRatio(name, source, sources[source]["cite"], tuple(num), tuple(den),
                              top.values["latency_ms"] / bottom.values["latency_ms"], top.latency_device, claim)

    for raw in _data().get("ratios", []):
        out.append(make(raw["name"], raw["source"], raw["numerator"], raw["denominator"], raw.get("claim")))
    for row in all_rows():
        if row.precision == "int8" and "latency_ms" in row.values:
            if latency_row(row.model, "float", row.source):
                name = f"{row.model} int8 / float latency"
                if any(r.name == name for r in out):  # a second source timing the same model: named by its source
                    name += f" ({row.source})"
                out.append(make(name, row.source, (row.model, "int8"), (row.model, "float")))
    return tuple(out)
