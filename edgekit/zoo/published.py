"""Published numbers (papers, TF-slim and Keras tables, Google's hosted models), read from data.

The figures live in ``published.toml`` with a citation per row; nothing here hard-codes one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

FIELDS = ("macs_m", "params_m", "top1", "top5", "latency_ms")


@dataclass(frozen=True)
class PublishedRow:
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


@lru_cache(maxsize=1)
def all_rows() -> tuple[PublishedRow, ...]:
    text = resources.files("edgekit.zoo").joinpath("published.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    sources = data["sources"]
    rows = []
    for raw in data["rows"]:
        src = sources[raw["source"]]
        rows.append(PublishedRow(
            model=raw["model"], source=raw["source"], cite=src["cite"], url=src["url"],
            precision=raw.get("precision", "float"), where=raw.get("where"),
            values={k: raw[k] for k in FIELDS if k in raw},
            latency_device=raw.get("latency_device"), note=raw.get("note"),
        ))
    return tuple(rows)


def rows_for(model_name: str) -> list[PublishedRow]:
    return [row for row in all_rows() if row.model == model_name]
