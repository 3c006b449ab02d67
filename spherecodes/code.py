"""`Code`: the value every part of spherecodes passes around.

A code is K unit vectors in R^d (points on S^{d-1}), stored as rows of a
float64 array of shape (K, d), together with the objective it was made for,
the objective's parameters, float64 scores computed independently of the
solver, and provenance (how it was made).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import InvalidParameterError
from .tolerances import unit_norm_tolerance

__all__ = ["Code", "as_points"]


class _CertificateField:
    """``Code.certificate``: a stored certificate mapping becomes a :class:`~spherecodes.validation.Certificate`.

    The conversion happens on first read, because the validation package imports numba and scipy
    (about a second) and a catalog lookup that never looks at the certificate should not pay for it.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the dataclass default
        value = obj.__dict__.get(self._slot)
        # a mapping Certificate.to_dict wrote (it always has a verdict); any other mapping a user stored stays as is
        if isinstance(value, Mapping) and "verdict" in value:
            from .validation.certificate import Certificate

            value = Certificate.from_dict(value)
            obj.__dict__[self._slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self._slot] = dict(value) if isinstance(value, Mapping) else value


def _raw_certificate(code: "Code") -> Any:
    """The certificate as stored on ``code``: a Certificate, its dict (not converted yet) or None."""
    return code.__dict__.get("_certificate")


def as_points(points: Any, *, name: str = "points", normalise: bool = False) -> np.ndarray:
    """Validate an array of points on the sphere and return it as read-only float64.

    Parameters
    ----------
    points : array_like, shape (K, d)
        One point per row.
    name : str
        Parameter name used in error messages.
    normalise : bool
        If True, rows are divided by their norms (zero rows are an error);
        otherwise rows must already have unit norm within
        :func:`spherecodes.tolerances.unit_norm_tolerance` for float64.

    Returns
    -------
    numpy.ndarray, shape (K, d), float64, C-contiguous, not writeable.
    """
    try:
        raw = np.asarray(points)
    except (TypeError, ValueError) as exc:  # ragged nested lists, unconvertible objects
        raise InvalidParameterError(name, type(points).__name__,
                                    f"pass a numeric array of shape (K, d) ({exc})") from None
    if np.iscomplexobj(raw):
        raise InvalidParameterError(name, "complex array", "points must be real: pass the real coordinates")
    try:
        arr = np.array(raw, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(name, type(points).__name__,
                                    f"pass a numeric array of shape (K, d) ({exc})") from None
    if arr.ndim != 2:
        raise InvalidParameterError(name, f"array of shape {arr.shape}",
                                    "pass a 2-D array of shape (K, d), one point per row")
    K, d = arr.shape
    if d < 2:
        raise InvalidParameterError("d", d, "points must live in R^d with d >= 2 (one point per row, d columns)")
    if K < 1:
        raise InvalidParameterError("K", K, "pass at least one point")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(name, "array with NaN or inf", "every coordinate must be finite")
    # scale each row by its largest entry first, so that norms of huge finite rows do not overflow
    scale = np.max(np.abs(arr), axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    norms = np.linalg.norm(arr / safe[:, None], axis=1) * scale
    if normalise:
        if np.any(norms == 0):
            raise InvalidParameterError(name, "array with a zero row",
                                        "every point needs a non-zero norm to be projected on the sphere")
        arr = arr / safe[:, None]
        arr /= np.linalg.norm(arr, axis=1)[:, None]
    else:
        tol = unit_norm_tolerance(np.float64)
        worst = float(np.max(np.abs(norms - 1.0)))
        if worst > tol:
            raise InvalidParameterError(
                name, f"rows with |norm - 1| up to {worst:.3g}",
                f"rows must have unit norm within {tol:.1e}; pass normalise=True to project them")
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars / arrays / mappings into plain JSON values (inf and nan as strings)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else repr(f)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass(frozen=True, eq=False)
class Code:
    """K points on S^{d-1} with their objective, parameters, scores and provenance.

    Parameters
    ----------
    points : array_like, shape (K, d)
        Unit vectors in R^d, one per row; stored as a read-only float64 array.
    objective : str
        Name of the objective the code was made for (a key of the objectives registry,
        or ``"construction"`` ...); not checked here so that any file can be wrapped.
    params : mapping
        The objective's parameters (e.g. ``{"s": 1.0, "metric": "euclidean"}``).
    scores : mapping of str to float
        float64 figures of merit computed by :mod:`spherecodes.validation` /
        the objective's ``score`` (e.g. ``energy``, ``min_angle_deg``, ``max_cosine``).
    provenance : mapping
        How the code was made: solver, seed, restarts, iterations, time_s, version, ...
    certificate : Certificate, mapping or None
        A :class:`spherecodes.validation.Certificate` when one was computed; a mapping (its
        ``to_dict()``, as stored in catalogs and ``.npz`` files) is read back as a Certificate.

    Notes
    -----
    Instances are immutable: the points array is not writeable and the mappings are
    read-only views. Use :meth:`replace` to derive a new code.
    """

    points: np.ndarray
    objective: str = "unknown"
    params: Mapping[str, Any] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    certificate: Any = _CertificateField()

    def __post_init__(self) -> None:
        pts = self.points
        if not (isinstance(pts, np.ndarray) and pts.dtype == np.float64 and not pts.flags.writeable):
            pts = as_points(pts)
        elif pts.ndim != 2:
            pts = as_points(pts)
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "scores", _freeze({k: float(v) for k, v in dict(self.scores).items()}))
        object.__setattr__(self, "provenance", _freeze(self.provenance))

    # ------------------------------------------------------------------ shape
    @property
    def K(self) -> int:
        """Number of points."""
        return int(self.points.shape[0])

    @property
    def d(self) -> int:
        """Ambient dimension (points lie on S^{d-1} in R^d)."""
        return int(self.points.shape[1])

    @property
    def key(self) -> str:
        """Canonical catalog key, e.g. ``riesz[metric=euclidean,s=1]/d=3/K=100``."""
        from .keys import make_key

        return make_key(self.objective, self.params, self.d, self.K)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.10g}" for k, v in list(self.scores.items())[:4])
        return f"Code({self.objective}, d={self.d}, K={self.K}, params={dict(self.params)}, {shown})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Code):
            return NotImplemented
        return (self.objective == other.objective and dict(self.params) == dict(other.params)
                and self.points.shape == other.points.shape and bool(np.array_equal(self.points, other.points)))

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------ conversion
    def replace(self, **changes: Any) -> "Code":
        """Return a copy with some fields replaced (the original is unchanged)."""
        fields = dict(points=self.points, objective=self.objective, params=dict(self.params),
                      scores=dict(self.scores), provenance=dict(self.provenance),
                      certificate=_raw_certificate(self))
        fields.update(changes)
        return Code(**fields)

    def to_torch(self, dtype: Any = None, device: Any = None):
        """The points as a new torch tensor of shape (K, d).

        Parameters
        ----------
        dtype : torch.dtype, optional
            Defaults to ``torch.float32`` (what networks use); pass ``torch.float64`` for exact work.
        device : str or torch.device, optional
            Defaults to the CPU.
        """
        import torch

        return torch.tensor(self.points, dtype=dtype or torch.float32, device=device or "cpu")

    def to_numpy(self) -> np.ndarray:
        """A writeable float64 copy of the points, shape (K, d)."""
        return np.array(self.points, dtype=np.float64, copy=True)

    def metadata(self) -> dict:
        """Everything but the points, as plain JSON-compatible data."""
        cert = _raw_certificate(self)
        if cert is not None and hasattr(cert, "to_dict"):
            cert = cert.to_dict()
        return _jsonable({
            "objective": self.objective, "params": dict(self.params), "d": self.d, "K": self.K,
            "scores": dict(self.scores), "provenance": dict(self.provenance), "certificate": cert,
        })

    # ------------------------------------------------------------------- files
    def save(self, path: "str | Path") -> Path:
        """Write the code to ``.npz`` (points + metadata as JSON) or ``.npy`` (points only).

        Returns the path written. The suffix decides the format; any other suffix is an error.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise InvalidParameterError("path", str(path),
                                        f"the folder {str(path.parent)!r} does not exist; create it first")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            np.save(path, self.points)
        elif suffix == ".npz":
            meta = json.dumps(self.metadata(), sort_keys=True)
            with open(path, "wb") as fh:
                np.savez(fh, points=self.points, metadata=np.array(meta))
        else:
            raise InvalidParameterError("path", str(path),
                                        "use a file name ending in .npz (points and metadata) or .npy (points only)")
        return path

    @classmethod
    def load(cls, path: "str | Path", *, objective: str | None = None, params: Mapping[str, Any] | None = None,
             normalise: bool = False) -> "Code":
        """Read a code written by :meth:`save`, or any ``.npy`` / ``.npz`` / text array of points.

        Parameters
        ----------
        path : str or Path
            ``.npz`` (with a ``points`` array, and ``metadata`` when written by spherecodes),
            ``.npy``, or a whitespace/comma separated text file with one point per line.
        objective, params : optional
            Override or supply what the file does not say.
        normalise : bool
            Project rows onto the sphere instead of requiring unit norm.
        """
        path = Path(path)
        if not path.exists():
            raise InvalidParameterError("path", str(path), "the file does not exist")
        meta: dict = {}
        suffix = path.suffix.lower()
        try:
            if suffix == ".npz":
                with np.load(path, allow_pickle=False) as data:
                    if "points" not in data:
                        raise InvalidParameterError("path", str(path), "the .npz file has no 'points' array")
                    points = np.array(data["points"])
                    if "metadata" in data:
                        meta = json.loads(str(data["metadata"]))
            elif suffix == ".npy":
                points = np.load(path, allow_pickle=False)
            else:
                text = path.read_text().replace(",", " ")
                with warnings.catch_warnings():
                    # an empty file: numpy warns, then as_points below says what is wrong (no points)
                    warnings.simplefilter("ignore", UserWarning)
                    points = np.loadtxt(text.splitlines(), ndmin=2)
                if points.size == 0:
                    raise InvalidParameterError("path", str(path), "the file holds no points (write one point per "
                                                "row, d numbers separated by spaces or commas)")
        except InvalidParameterError:
            raise
        except Exception as exc:  # unreadable file: say which and why
            raise InvalidParameterError("path", str(path),
                                        f"could not read points from it ({type(exc).__name__}: {exc})") from None
        pts = as_points(points, name="points", normalise=normalise)
        return cls(
            points=pts,
            objective=objective or meta.get("objective", "unknown"),
            params=params if params is not None else meta.get("params", {}),
            scores={k: float(v) for k, v in meta.get("scores", {}).items()},
            provenance=meta.get("provenance", {}),
            certificate=meta.get("certificate"),
        )
