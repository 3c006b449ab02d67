"""Checkpoints of the global search: save at round boundaries, stop cleanly on a signal, resume bit-identically.

The search of :func:`spherecodes.solvers.solve` is a sequence of rounds (round 0: the random
restarts; rounds 1, 2, ...: basin hopping). Everything the next round depends on is known at a
round boundary: the pool of the best ``restarts`` configurations (B, K, d), their float64 scores,
the best code, the stale-round counter and the state of the one random generator. A
:class:`SearchState` holds exactly that, so a search resumed from it draws the same random
numbers, optimises the same batches and ends at bit-identical points, on the same device, dtype
and thread count (see ``docs/reliability.md``).

File format
-----------
A checkpoint is one ``.npz`` file (a zip archive; every member has a CRC-32) with

``points``      (K, d) float64, the best code so far: ``Code.load`` reads a ``*.npz`` checkpoint as a code;
``metadata``    JSON string, the code's metadata (objective, params, scores, provenance);
``pool``        (B, K, d) float64, the pool of the search;
``rng_state``   uint8, ``torch.Generator.get_state()`` of the search's generator;
``state``       JSON string: every other field of :class:`SearchState`, ``format``, ``magic`` and
                ``sha256`` (SHA-256 of the bytes of points, pool and rng_state, in that order).

It is written atomically: a temporary file in the same directory is written, flushed with
``fsync`` and renamed over the checkpoint with :func:`os.replace` (then the directory is
``fsync``-ed), so a process killed at any moment leaves the previous checkpoint or the new one.

Interrupts
----------
While :class:`InterruptGuard` is active (in the main thread), SIGINT (Ctrl-C) and SIGTERM raise
:class:`Interrupted`, a :class:`KeyboardInterrupt`, at the next Python bytecode: the search stops
within the time of one torch operation or numba kernel call, not at the end of a round. A second
signal while the checkpoint is being written is recorded and otherwise ignored, so that the write
finishes. The work of the interrupted round is discarded; the resumed search repeats it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import signal
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._fileio import fsync_dir as _fsync_dir
from ..errors import InvalidParameterError

__all__ = [
    "SearchState", "SearchInterrupted", "Interrupted", "InterruptGuard",
    "save_checkpoint", "load_checkpoint", "check_checkpoint", "checkpoint_writable",
    "MAGIC", "FORMAT", "SAVE_INTERVAL_S", "IDENTITY_FIELDS",
]

log = logging.getLogger(__name__)

#: value of ``state["magic"]``: identifies a search checkpoint
MAGIC = "spherecodes-search-checkpoint"
#: layout version of the file; readers refuse other versions
FORMAT = 1
#: seconds between checkpoint writes at round boundaries (round 0, an interrupt and the end are always written)
SAVE_INTERVAL_S = 10.0
#: fields that a resumed search must share with the checkpoint (they change the random stream or the batches)
IDENTITY_FIELDS = ("objective", "params", "d", "K", "seed", "restarts", "max_iter", "dtype", "device_type",
                   "init_sha256")


@dataclass
class SearchState:
    """Everything the global search needs to continue after a round boundary.

    Attributes
    ----------
    objective, params, d, K, seed, restarts, max_iter, dtype, device_type, init_sha256
        What identifies the search (:data:`IDENTITY_FIELDS`): a resumed search must match them.
        ``dtype`` is the first-phase dtype name, ``device_type`` ``"cpu"`` or ``"cuda"``,
        ``init_sha256`` the digest of the ``init`` array (None when there was none).
    round : int
        Perturbation rounds completed after round 0 (0: only the random restarts are done).
    stale : int
        Consecutive rounds without improvement so far.
    pool_points : ndarray, shape (B, K, d), float64
        The best B configurations seen, best first.
    pool_scores : list of dict
        Their float64 scores (``objective.score``), same order.
    best_points : ndarray, shape (K, d), float64
    best_scores : dict
    rng_state : ndarray, uint8
        ``torch.Generator.get_state()`` at the round boundary.
    restart_scores : list of float
        Primary score of every local optimisation so far.
    history : list of dict
        ``{"round", "time_s", "best"}`` per completed round.
    loss_history : list of float
        Best first-phase loss per iteration of round 0.
    iterations, evaluations : int
        Totals so far.
    phase_times : dict
        Seconds per phase so far.
    elapsed_s : float
        Wall time of the search so far, over all runs that worked on it (counts against a time budget).
    stop_reason : str
        Empty while the search can go on; why it stopped once it has.
    version : str
        spherecodes version that wrote the state.
    """

    objective: str
    params: dict
    d: int
    K: int
    seed: int
    restarts: int
    max_iter: int
    dtype: str
    device_type: str
    init_sha256: str | None
    round: int
    stale: int
    pool_points: np.ndarray
    pool_scores: list
    best_points: np.ndarray
    best_scores: dict
    rng_state: np.ndarray
    restart_scores: list = field(default_factory=list)
    history: list = field(default_factory=list)
    loss_history: list = field(default_factory=list)
    iterations: int = 0
    evaluations: int = 0
    phase_times: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    stop_reason: str = ""
    version: str = ""

    def identity(self) -> dict[str, Any]:
        """The :data:`IDENTITY_FIELDS` as a dict."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}

    def mismatches(self, identity: dict[str, Any]) -> list[str]:
        """``"name: checkpoint X, now Y"`` for every identity field that differs from ``identity``."""
        out = []
        for name in IDENTITY_FIELDS:
            mine, theirs = getattr(self, name), identity.get(name)
            if _canon(mine) != _canon(theirs):
                out.append(f"{name}: checkpoint {mine!r}, now {theirs!r}")
        return out


def _canon(value: Any) -> str:
    """A comparable form of a JSON-able value (dict order and int/float spelling do not matter)."""
    return json.dumps(value, sort_keys=True, default=str)


class Interrupted(KeyboardInterrupt):
    """Raised inside the search by :class:`InterruptGuard` when SIGINT or SIGTERM arrives."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class SearchInterrupted(KeyboardInterrupt):
    """The search was stopped by a signal (or a KeyboardInterrupt); its state was saved when possible.

    A :class:`KeyboardInterrupt`, not a :class:`spherecodes.errors.SpherecodesError`: code that
    catches the library's errors does not swallow a Ctrl-C by accident.

    Attributes
    ----------
    signal_name : str
        ``"SIGINT"`` or ``"SIGTERM"``.
    exit_status : int
        128 + the signal number, what a shell reports for a process stopped by that signal.
    checkpoint : Path or None
        The checkpoint that holds the saved state; None when nothing could be saved (interrupted
        during round 0, or the write failed: see ``save_error``).
    rounds_done : int or None
        Perturbation rounds completed after round 0 in the saved state (None: round 0 unfinished).
    best_scores : dict or None
        Scores of the best code so far.
    save_error : str or None
        Why the checkpoint could not be written.
    """

    def __init__(self, message: str, *, signal_name: str, exit_status: int, checkpoint: Path | None,
                 rounds_done: int | None, best_scores: dict | None, save_error: str | None = None):
        self.signal_name = signal_name
        self.exit_status = exit_status
        self.checkpoint = checkpoint
        self.rounds_done = rounds_done
        self.best_scores = best_scores
        self.save_error = save_error
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class InterruptGuard:
    """Context manager: SIGINT and SIGTERM raise :class:`Interrupted` while it is active.

    Handlers can only be installed in the main thread; elsewhere the guard does nothing (a
    KeyboardInterrupt still reaches the main thread as usual). The previous handlers are restored
    on exit. Call :meth:`defer` around the checkpoint write: signals arriving then are recorded
    in :attr:`signum` but raise nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._deferred = False
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if first and not self._deferred:
            raise Interrupted(signum)
        log.warning("%s received while the search state is being saved; finishing the write first",
                    signal.Signals(signum).name)

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                with contextlib.suppress(ValueError, OSError):
                    self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old.clear()

    @contextlib.contextmanager
    def defer(self):
        """Signals that arrive inside this block do not raise (the first one is still recorded)."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False


# ----------------------------------------------------------------------------- files
def _digest(points: np.ndarray, pool: np.ndarray, rng_state: np.ndarray) -> str:
    h = hashlib.sha256()
    for arr in (points, pool, rng_state):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _dumps(value: Any) -> str:
    # floats are written with repr, which reads back bit-identically; NaN/inf as the JSON extensions
    # NaN/Infinity that Python's json reads back (scores of degenerate codes can be inf)
    return json.dumps(value, sort_keys=True, default=_json_default, allow_nan=True)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _remove_stale_temps(path: Path) -> int:
    """Delete temporary files of ``path`` left by writers that were killed (their process is gone)."""
    removed = 0
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        try:
            pid = int(tmp.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # still running: its write may be in progress
        except ProcessLookupError:
            pass
        except OSError:  # e.g. no permission to signal it: it exists
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def checkpoint_writable(path: "str | os.PathLike[str]") -> Path:
    """Check, before a search starts, that a checkpoint can be written at ``path``; return it resolved.

    Also removes temporary files of ``path`` left behind by killed writers.

    Raises
    ------
    InvalidParameterError
        The path is a directory, its directory does not exist, or a file cannot be created there.
    """
    try:
        return _checkpoint_writable(Path(path).expanduser())
    except ValueError as exc:  # e.g. an embedded NUL byte
        raise InvalidParameterError("checkpoint", str(path), f"not a usable file name ({exc})") from None


def _checkpoint_writable(p: Path) -> Path:
    if p.is_dir():
        raise InvalidParameterError("checkpoint", str(p), "pass a file name, not a directory")
    if not p.parent.is_dir():
        raise InvalidParameterError("checkpoint", str(p),
                                    f"the directory {p.parent} does not exist; create it first")
    probe = _temp_name(p)
    try:
        with open(probe, "wb"):
            pass
    except OSError as exc:
        raise InvalidParameterError("checkpoint", str(p),
                                    f"cannot create a file there ({exc.strerror or exc})") from None
    with contextlib.suppress(OSError):
        probe.unlink()
    _remove_stale_temps(p)
    return p.resolve()


def save_checkpoint(path: "str | os.PathLike[str]", state: SearchState, code_metadata: dict | None = None) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + fsync + :func:`os.replace`).

    Parameters
    ----------
    path : str or Path
        The checkpoint file (use a ``.npz`` name to read the best code with ``Code.load``).
    state : SearchState
    code_metadata : dict, optional
        Metadata of the best code (objective, params, scores, provenance), stored as ``metadata``
        so that ``Code.load`` reads it; defaults to what the state knows.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    OSError
        The file could not be written (e.g. the disk is full); the previous checkpoint, if any,
        is unchanged and the temporary file is removed.
    """
    path = Path(path)
    best = np.ascontiguousarray(state.best_points, dtype=np.float64)
    pool = np.ascontiguousarray(state.pool_points, dtype=np.float64)
    rng = np.ascontiguousarray(state.rng_state, dtype=np.uint8)
    body = {f.name: getattr(state, f.name) for f in fields(state)
            if f.name not in ("pool_points", "best_points", "rng_state")}
    body.update(magic=MAGIC, format=FORMAT, sha256=_digest(best, pool, rng))
    meta = code_metadata if code_metadata is not None else {
        "objective": state.objective, "params": state.params, "d": state.d, "K": state.K,
        "scores": state.best_scores, "provenance": {"checkpoint_round": state.round}, "certificate": None}
    tmp = _temp_name(path)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, points=best, metadata=np.array(_dumps(meta)), pool=pool, rng_state=rng,
                     state=np.array(_dumps(body)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def load_checkpoint(path: "str | os.PathLike[str]") -> SearchState:
    """Read a checkpoint written by :func:`save_checkpoint`, verifying its checksums.

    Raises
    ------
    InvalidParameterError
        (parameter ``checkpoint``) the file does not exist, is not a search checkpoint, is of
        another format version, or is damaged (zip CRC or SHA-256 mismatch, missing fields).
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidParameterError("checkpoint", str(path), "the file does not exist")

    def damaged(why: str) -> InvalidParameterError:
        return InvalidParameterError("checkpoint", str(path),
                                     f"the file is not a readable search checkpoint ({why}); "
                                     "delete it to start a new search")

    try:
        with np.load(p, allow_pickle=False) as data:
            missing = {"points", "metadata", "pool", "rng_state", "state"} - set(data.files)
            if missing:
                raise damaged(f"missing {', '.join(sorted(missing))}")
            best = np.array(data["points"], dtype=np.float64)
            pool = np.array(data["pool"], dtype=np.float64)
            rng = np.array(data["rng_state"], dtype=np.uint8)
            body = json.loads(str(data["state"]))
            json.loads(str(data["metadata"]))  # read (and CRC-checked) so that Code.load will read it too
    except InvalidParameterError:
        raise
    except Exception as exc:  # zip CRC errors, truncated files, bad JSON, ...: all mean "damaged"
        raise damaged(f"{type(exc).__name__}: {exc}") from None
    if not isinstance(body, dict) or body.get("magic") != MAGIC:
        raise damaged("no search-checkpoint marker")
    if body.get("format") != FORMAT:
        raise InvalidParameterError("checkpoint", str(path),
                                    f"format {body.get('format')!r} is not the supported format {FORMAT}; "
                                    "delete it to start a new search")
    if body.get("sha256") != _digest(best, pool, rng):
        raise damaged("SHA-256 of the arrays does not match")
    names = {f.name for f in fields(SearchState)}
    kwargs = {k: v for k, v in body.items() if k in names}
    kwargs.update(best_points=best, pool_points=pool, rng_state=rng)
    try:
        state = SearchState(**kwargs)
    except TypeError as exc:
        raise damaged(str(exc)) from None
    K, d = state.K, state.d
    if best.shape != (K, d) or pool.ndim != 3 or pool.shape[1:] != (K, d) or len(state.pool_scores) != len(pool):
        raise damaged(f"array shapes {best.shape}, {pool.shape} do not match K={K}, d={d}")
    return state


def check_checkpoint(path: "str | os.PathLike[str]") -> tuple[bool, str]:
    """(ok, reason): whether ``path`` is an intact search checkpoint (checksums verified)."""
    try:
        state = load_checkpoint(path)
    except InvalidParameterError as exc:
        return False, str(exc)
    finite = bool(np.all(np.isfinite(state.best_points)) and np.all(np.isfinite(state.pool_points)))
    if not finite:
        return False, f"{path}: non-finite coordinates in the saved points"
    return True, f"{path}: intact (round {state.round}, SHA-256 verified)"


def describe_best(state: SearchState, primary: str) -> str:
    """``"energy=49.1652530576"`` for messages."""
    value = state.best_scores.get(primary, math.nan)
    return f"{primary}={value:.12g}"
