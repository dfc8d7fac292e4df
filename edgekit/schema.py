"""The base of every typed, frozen record edgekit returns: typed fields, ``extra`` for the rest,
``to_dict()``/``from_dict()`` and a schema version. Artifacts (``export.artifact.Artifact``) and
results (``record.results``) are built on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping

from edgekit.errors import EdgekitError

SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of every result record: typed fields, ``extra`` for the rest, a schema version."""

    SCHEMA_KEY: ClassVar[str] = "schema"
    SCHEMA_VERSION: ClassVar[int] = SCHEMA_VERSION

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    order: tuple[str, ...] = field(default=(), repr=False, compare=False)  # key order of the source dict

    def to_dict(self) -> dict:
        """The flat dict (typed fields and ``extra`` together), as stored and printed by ``--json``."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "order")}
        values.update(self.extra)
        values[self.SCHEMA_KEY] = self.SCHEMA_VERSION
        keys = [k for k in self.order if k in values] + [k for k in values if k not in self.order]
        return {k: values[k] for k in keys}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """A record from its dict (``to_dict``'s output, a stored result, an older result without a schema)."""
        version = data.get(cls.SCHEMA_KEY, cls.SCHEMA_VERSION)
        if isinstance(version, int) and version > cls.SCHEMA_VERSION:
            raise EdgekitError(f"{cls.__name__} was written by a newer edgekit (schema {version} > "
                               f"{cls.SCHEMA_VERSION}): upgrade edgekit to read it")
        names = {f.name for f in fields(cls)} - {"extra", "order"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k != cls.SCHEMA_KEY}
        return cls(**known, extra=extra, order=tuple(data))

    def _names(self) -> set[str]:
        return {f.name for f in fields(self)} - {"extra", "order"}

    def get(self, key: str, default=None):
        """Any field by name, typed or in ``extra`` (for code that reads results generically)."""
        if key in self.extra:
            return self.extra[key]
        return getattr(self, key) if key in self._names() else default

    def __getitem__(self, key: str):
        """``record["top1"]`` reads like the dict it serialises to (typed fields and ``extra``)."""
        if key in self.extra:
            return self.extra[key]
        if key in self._names():
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: str) -> bool:
        return key in self.extra or key in self._names()
