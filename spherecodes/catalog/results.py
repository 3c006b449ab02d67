"""What catalog operations return: `PutResult` (a put), `EntryInfo` (one entry's metadata), `EntryCheck`
and `VerifyReport` (verification). Plain values: no file access here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParameterError
from . import format as fmt

__all__ = ["PutResult", "EntryInfo", "EntryCheck", "VerifyReport", "NO_META_CHECKSUM"]

#: Start of the verify note for entries written before ``meta_sha256`` existed.
NO_META_CHECKSUM = "no metadata checksum"


class PutResult(str):
    """What :meth:`Catalog.put` did: a ``str`` equal to the action, carrying the details.

    ``cat.put(code) == "stored"`` works, and so do ``print(result)`` and ``json.dumps(result)``
    (they give the action); the details are attributes. Comparison and hashing are those of the
    action string.

    Attributes
    ----------
    action : str
        ``"stored"`` (no entry before), ``"replaced"`` (the new code is strictly better, or the
        old entry was unreadable) or ``"kept"`` (the stored code is at least as good; ties keep it).
        Same as ``str(result)``.
    key : str
        Canonical key of the entry.
    old_scores : dict or None
        Scores of the previously stored code, recomputed by the objective (None when there was none
        or it could not be read).
    new_scores : dict
        Scores of the offered code, recomputed by the objective (stored when the action is not "kept").
    """

    __slots__ = ("key", "old_scores", "new_scores")
    ACTIONS = ("stored", "replaced", "kept")

    key: str
    old_scores: dict[str, float] | None
    new_scores: dict[str, float]

    def __new__(cls, action: str, key: str, old_scores: dict[str, float] | None,
                new_scores: dict[str, float]) -> "PutResult":
        if action not in cls.ACTIONS:
            raise InvalidParameterError("action", action, f"use one of {', '.join(cls.ACTIONS)}")
        self = super().__new__(cls, action)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "old_scores", None if old_scores is None else dict(old_scores))
        object.__setattr__(self, "new_scores", dict(new_scores))
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"PutResult is immutable (cannot set {name!r})")

    @property
    def action(self) -> str:
        """The action as a plain ``str``: "stored", "replaced" or "kept"."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return (f"PutResult({self.action!r}, key={self.key!r}, old_scores={self.old_scores!r}, "
                f"new_scores={self.new_scores!r})")

    def __reduce__(self):  # pickling/copying: rebuild through __new__ with all fields
        return (PutResult, (self.action, self.key, self.old_scores, self.new_scores))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict of all fields."""
        return json.loads(fmt.dumps({"action": self.action, "key": self.key, "old_scores": self.old_scores,
                                     "new_scores": self.new_scores}))


@dataclass(frozen=True)
class EntryInfo:
    """Summary of one stored entry (everything but the points).

    ``primary`` names the score that defines "better" for the objective and ``maximise`` its
    direction, as recorded when the entry was stored.
    """

    key: str
    objective: str
    params: dict[str, Any]
    d: int
    K: int
    scores: dict[str, float]
    stored: str
    sha256: str
    catalog: str = ""
    primary: str = ""
    maximise: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        return json.loads(fmt.dumps(self.__dict__))


@dataclass(frozen=True)
class EntryCheck:
    """Result of verifying one entry: ``problems`` make it fail, ``notes`` do not."""

    key: str
    ok: bool
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class VerifyReport:
    """Result of :meth:`Catalog.verify`.

    Attributes
    ----------
    path : str
    entries : list of EntryCheck
        One per entry found (unreadable ones included, with their problem).
    problems : list of str
        File-level problems (e.g. a group that cannot be listed).
    """

    path: str
    entries: list[EntryCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no entry and no file-level check failed."""
        return not self.problems and all(e.ok for e in self.entries)

    @property
    def failures(self) -> list[EntryCheck]:
        """The entries that failed a check."""
        return [e for e in self.entries if not e.ok]

    def summary(self) -> str:
        """One line: counts, and the first failure if any."""
        n_bad = len(self.failures)
        text = f"{self.path}: {len(self.entries)} entries, {n_bad} failed"
        n_old = sum(any(n.startswith(NO_META_CHECKSUM) for n in e.notes) for e in self.entries)
        if n_old:
            text += f", {n_old} without a metadata checksum (written by an older spherecodes)"
        if self.problems:
            text += f", file problems: {'; '.join(self.problems)}"
        if n_bad:
            first = self.failures[0]
            text += f" (first: {first.key}: {first.problems[0]})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        return {"path": self.path, "ok": self.ok, "problems": list(self.problems),
                "entries": [{"key": e.key, "ok": e.ok, "problems": list(e.problems), "notes": list(e.notes)}
                            for e in self.entries]}
