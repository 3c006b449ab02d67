"""Fill a catalog with a grid of codes, in one process or split over the ranks of a torchrun launch.

This sits above the catalog (it solves, the catalog only stores): ``spherecodes catalog build`` calls it.

:func:`grid_requests` turns objectives x dimensions x sizes into requests (sizes an objective
rejects are reported, not solved); :func:`build_catalog` solves every request that is not stored
yet with :func:`spherecodes.generate` and puts the codes in the catalog (the better code is kept
when the key is already there).

Distributed (``torchrun --nproc-per-node N -m spherecodes catalog build --grid ... --distributed``):
every rank plans the same request list, sorted from the cheapest (K^2 d pair work) to the most
expensive, and checks that all ranks agree on it (an all-gather of a hash of the key list, the
spherecodes version and the solver settings: a mismatch raises
:class:`~spherecodes.errors.InvalidParameterError` on every rank). Rank r solves requests r, r + N,
r + 2N, ... (round-robin over the cost order, so every rank gets a similar share of cheap and
expensive keys) and writes them to its own shard file next to the catalog; after a barrier rank 0
merges the shards into the catalog with :meth:`Catalog.merge` and deletes them. Every key uses the
same seed whichever rank solves it, so the merged catalog holds the same codes as a one-process
build. A world of size 1 (``--distributed`` without torchrun) works the same way with one shard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import InvalidParameterError, SpherecodesError
from .keys import make_key, parse_key

__all__ = ["Request", "BuildRow", "BuildReport", "parse_int_list", "grid_requests", "key_requests",
           "build_catalog", "shard_path", "format_rows"]

log = logging.getLogger(__name__)

#: how many codes are written to the catalog at a time (one copy-on-write of the file per batch)
FLUSH_EVERY = 16


@dataclass(frozen=True)
class Request:
    """One code to build: objective name, normalised parameters, d, K and its catalog key."""

    objective: str
    params: Mapping[str, Any]
    d: int
    K: int
    key: str

    @property
    def cost(self) -> int:
        """Pair work of one evaluation, K^2 d: the order in which a build works through the grid."""
        return self.K * self.K * self.d


@dataclass
class BuildRow:
    """What happened to one request.

    ``status`` is ``solved`` (computed, then put in the catalog), ``present`` (already stored, not
    recomputed), ``invalid`` (the objective rejects this d, K) or ``failed`` (the solve raised; ``note``
    says why).
    """

    key: str
    objective: str
    d: int
    K: int
    status: str
    primary: str = ""
    score: float = float("nan")
    seconds: float = 0.0
    rank: int = 0
    note: str = ""


@dataclass
class BuildReport:
    """The result of :func:`build_catalog` (the same on every rank).

    Attributes
    ----------
    catalog : Path
    rows : list of BuildRow
        One per request, in cost order, from all ranks.
    counts : dict
        What putting the solved codes into the catalog did: ``stored``, ``replaced``, ``kept``, ``skipped``.
    world_size : int
    rank : int
        The rank this report was returned on (0 without distribution).
    time_s : float
    statuses : dict
        Number of rows per status.
    """

    catalog: Path
    rows: list[BuildRow]
    counts: dict[str, int]
    world_size: int = 1
    rank: int = 0
    time_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"catalog": str(self.catalog), "counts": dict(self.counts), "statuses": dict(self.statuses),
                "world_size": self.world_size, "time_s": self.time_s, "rows": [asdict(r) for r in self.rows]}


def parse_int_list(text: str, name: str = "sizes", minimum: int = 1) -> list[int]:
    """``"3-6,10,12"`` -> ``[3, 4, 5, 6, 10, 12]`` (inclusive ranges, sorted, no duplicates).

    Raises
    ------
    InvalidParameterError
        Naming ``name`` when an item is not an integer or an ``A-B`` range with A <= B, or is below ``minimum``.
    """
    out: set[int] = set()
    fix = f"write integers >= {minimum} and inclusive ranges separated by commas, e.g. 3-10,16,32"
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo_text, dash, hi_text = part.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise InvalidParameterError(name, text, fix) from None
        if lo > hi or lo < minimum:
            raise InvalidParameterError(name, text, fix)
        out.update(range(lo, hi + 1))
    if not out:
        raise InvalidParameterError(name, text, fix)
    return sorted(out)


def _sorted(requests: Iterable[Request]) -> list[Request]:
    return sorted(requests, key=lambda r: (r.cost, r.K, r.d, r.key))


def grid_requests(objectives: Mapping[str, Mapping[str, Any]] | Sequence[str], dims: Iterable[int],
                  sizes: Iterable[int]) -> tuple[list[Request], list[BuildRow]]:
    """Requests for every objective x d x K, cheapest first, and rows for the pairs an objective rejects.

    Parameters
    ----------
    objectives : mapping name -> parameters, or sequence of names
        Parameters are normalised by the objective (an unknown name raises naming the valid ones).
    dims, sizes : iterables of int

    Returns
    -------
    requests : list of Request
        Sorted by K^2 d, then K, d, key; no duplicates.
    invalid : list of BuildRow
        Status ``invalid``, the objective's reason in ``note``.
    """
    from .objectives import get_objective
    from .solvers.solve import check_size

    if not isinstance(objectives, Mapping):
        objectives = {name: {} for name in objectives}
    if not objectives:
        raise InvalidParameterError("objectives", objectives, "name at least one objective, e.g. riesz")
    dims, sizes = list(dims), list(sizes)
    if not dims or not sizes:
        raise InvalidParameterError("dims" if not dims else "sizes", dims if not dims else sizes,
                                    "give at least one value")
    requests: dict[str, Request] = {}
    invalid: list[BuildRow] = []
    for name, params in objectives.items():
        obj = get_objective(name)
        norm = obj.normalise_params(**dict(params))
        for d in dims:
            for K in sizes:
                d_, K_ = check_size(d, K)
                key = make_key(obj.name, norm, d_, K_)
                try:
                    obj.validate_size(d_, K_, norm)
                except InvalidParameterError as exc:
                    invalid.append(BuildRow(key, obj.name, d_, K_, "invalid", note=str(exc)))
                    continue
                requests[key] = Request(obj.name, dict(norm), d_, K_, key)
    return _sorted(requests.values()), invalid


def key_requests(keys: Iterable[str]) -> list[Request]:
    """Requests for explicit catalog keys (``riesz[s=1]/d=3/K=12``; parameters may be partial), cheapest first."""
    from .objectives import get_objective
    from .solvers.solve import check_size

    requests: dict[str, Request] = {}
    for text in keys:
        name, params, d, K = parse_key(str(text).strip())
        obj = get_objective(name)
        norm = obj.normalise_params(**params)
        d, K = check_size(d, K)
        obj.validate_size(d, K, norm)
        key = make_key(obj.name, norm, d, K)
        requests[key] = Request(obj.name, dict(norm), d, K, key)
    if not requests:
        raise InvalidParameterError("keys", list(keys), "give at least one key, e.g. 'riesz[s=1]/d=3/K=12'")
    return _sorted(requests.values())


def shard_path(catalog: "str | os.PathLike[str]", rank: int, world: int) -> Path:
    """The file rank ``rank`` of ``world`` writes its codes to: ``<catalog>.shard-<rank>-of-<world>.h5``."""
    path = Path(catalog)
    return path.with_name(f"{path.name}.shard-{rank}-of-{world}.h5")


def _world(group) -> tuple[int, int]:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def _init_group() -> bool:
    """Initialise a gloo group from torchrun's environment (WORLD_SIZE > 1) when none exists; True if we did."""
    import torch.distributed as dist

    if not dist.is_available() or dist.is_initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    # only small Python objects travel between ranks (hashes, rows): gloo, also when the solves use GPUs
    dist.init_process_group(backend="gloo")
    return True


def _all_gather(obj: Any, world: int, group) -> list[Any]:
    import torch.distributed as dist

    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj, group=group)
    return out


def _plan_hash(requests: Sequence[Request]) -> str:
    return hashlib.sha256(json.dumps([r.key for r in requests]).encode()).hexdigest()[:16]


def build_catalog(catalog: "str | os.PathLike[str]", requests: Sequence[Request], *, restarts: int | None = None,
                  rounds: int | None = None, seed: int = 0, device: Any = None, dtype: Any = None,
                  time_budget: float | None = None, force: bool = False, certify: bool = True,
                  distributed: bool = False, group=None, progress: Callable[[BuildRow], None] | None = None,
                  planned: Callable[[int, int, int], None] | None = None,
                  generate: Callable[..., Any] | None = None) -> BuildReport:
    """Solve every request that the catalog does not hold yet and put the codes in it.

    Parameters
    ----------
    catalog : path
        The catalog file (created when missing). With ``distributed`` it must be on a file system that
        every rank sees: ranks write shard files next to it and rank 0 merges them.
    requests : sequence of Request
        From :func:`grid_requests` or :func:`key_requests`; solved cheapest first.
    restarts, rounds, dtype, time_budget
        Passed to :func:`spherecodes.generate` for every request (``time_budget`` is per request).
    seed : int
        The seed of every solve (the same for each key whichever rank solves it).
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``; with ``distributed`` and ``"cuda"``, rank r uses ``cuda:LOCAL_RANK``.
    force : bool
        Also solve keys that are stored already (the better code is kept).
    certify : bool
        Attach certificates (without the LP bounds).
    distributed : bool
        Split the requests over the ranks of the default (or given) process group, initialised from
        torchrun's environment when there is one; without it, a world of size 1.
    group : ProcessGroup, optional
    progress : callable, optional
        Called with each BuildRow this rank finishes.
    planned : callable, optional
        Called once as ``planned(rank, world_size, n)`` with the number of requests this rank will solve.
    generate : callable, optional
        ``generate(objective, d, K, **kwargs) -> Code``; default :func:`spherecodes.generate`.

    Returns
    -------
    BuildReport

    Raises
    ------
    InvalidParameterError
        Bad settings, or (distributed) ranks that disagree on the request list, version or settings
        -- raised on every rank.
    SpherecodesError
        (distributed) a rank failed outside a solve (e.g. could not write its shard); raised on every rank.
    """
    from .catalog import Catalog

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidParameterError("seed", seed, "pass an integer >= 0 (every key is solved with this seed)")
    for name, value, minimum in (("restarts", restarts, 1), ("rounds", rounds, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            raise InvalidParameterError(name, value, f"pass an integer >= {minimum}, or None for the default")
    path = Path(catalog).expanduser()
    requests = _sorted(requests)
    t0 = time.perf_counter()
    own_group = _init_group() if distributed else False
    try:
        rank, world = _world(group) if distributed else (0, 1)
        if device == "cuda" and distributed:
            device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
        present = set(Catalog(path, "r").keys()) if path.exists() and not force else set()
        todo = [r for r in requests if r.key not in present]
        rows = [BuildRow(r.key, r.objective, r.d, r.K, "present") for r in requests if r.key in present]
        if distributed:
            from .solvers.distributed import check_consistent_launch

            # a collective: also keeps rank 0 from writing the catalog while another rank still reads it
            check_consistent_launch({
                "spherecodes": __version__, "keys": _plan_hash(todo), "n_keys": len(todo), "restarts": restarts,
                "rounds": rounds, "seed": seed, "dtype": str(dtype), "time_budget": time_budget, "force": force,
                "certify": certify, "catalog": str(path.resolve()),
            }, group, fix="start every rank with the same spherecodes version, grid, settings and catalog "
                          "(on a file system all ranks see)")
        target = Catalog(path, "a") if (not distributed or rank == 0) else None
        mine = todo[rank::world]
        if planned is not None:
            planned(rank, world, len(mine))
        kwargs = dict(restarts=restarts, rounds=rounds, seed=seed, device=device, dtype=dtype,
                      time_budget=time_budget, certify=certify)
        if distributed:
            mine_rows, _, error = _solve_all(shard_path(path, rank, world), None, mine, rank=rank,
                                             progress=progress, generate=generate, kwargs=kwargs)
            # doubles as the barrier before the merge: every rank has finished (or failed) its shard
            gathered = _all_gather((mine_rows, error), world, group)
            errors = [f"rank {r}: {e}" for r, (_, e) in enumerate(gathered) if e]
            if errors:
                raise SpherecodesError("catalog build failed on " + "; ".join(errors)
                                       + f"; the shard files are kept next to {path}")
            for r_rows, _ in gathered:
                rows.extend(r_rows)
            counts = _merge_shards(path, world, rank, group, target)
        else:
            mine_rows, counts, _ = _solve_all(path, target, mine, rank=0, progress=progress, generate=generate,
                                              kwargs=kwargs)
            rows.extend(mine_rows)
    finally:
        if own_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    order = {r.key: i for i, r in enumerate(requests)}
    rows.sort(key=lambda row: order.get(row.key, len(order)))
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    return BuildReport(path, rows, counts, world, rank, time.perf_counter() - t0, statuses)


def _solve_all(out: Path, cat, mine: Sequence[Request], *, rank: int, progress, generate,
               kwargs: dict[str, Any]) -> tuple[list[BuildRow], dict[str, int], str]:
    """Solve this rank's requests and put them in ``cat``, or (``cat`` None) in a new shard file ``out``.

    Returns (rows, put counts, error text); with a shard, an error outside a solve is returned instead
    of raised, so that it reaches every rank instead of leaving the others waiting at the barrier.
    """
    from .catalog import Catalog
    from .objectives import get_objective

    if generate is None:
        from .api import generate
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    # the build writes the catalog itself; no LP bounds in the certificates (seconds each)
    kwargs.update(catalog=False, certify=kwargs.pop("certify", True), certify_lp=False)
    rows: list[BuildRow] = []
    counts = {"stored": 0, "replaced": 0, "kept": 0, "skipped": 0}
    pending: list[Any] = []
    shard = cat is None

    def flush() -> None:
        if pending:
            for result in cat.put_many(pending):
                counts[result.action] += 1
            pending.clear()

    try:
        if shard:
            out.unlink(missing_ok=True)  # left by an earlier launch that failed
            cat = Catalog(out, "a")
        for req in mine:
            t = time.perf_counter()
            try:
                code = generate(req.objective, req.d, req.K, **kwargs, **req.params)
            except Exception as exc:  # one failed solve must not end a build of hours
                row = BuildRow(req.key, req.objective, req.d, req.K, "failed", seconds=time.perf_counter() - t,
                               rank=rank, note=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
            else:
                primary = get_objective(code.objective).primary
                row = BuildRow(req.key, req.objective, req.d, req.K, "solved", primary,
                               float(code.scores.get(primary, float("nan"))), time.perf_counter() - t, rank)
                pending.append(code)
                if len(pending) >= FLUSH_EVERY:
                    flush()
            rows.append(row)
            if progress is not None:
                progress(row)
        flush()
    except Exception as exc:
        if not shard:
            raise
        log.exception("catalog build on rank %d failed", rank)
        return rows, counts, f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return rows, counts, ""


def _merge_shards(path: Path, world: int, rank: int, group, target) -> dict[str, int]:
    """Rank 0 merges every shard into the catalog and deletes them; all ranks get the merge counts."""
    import torch.distributed as dist

    counts = {"stored": 0, "replaced": 0, "kept": 0, "skipped": 0}
    error = ""
    if rank == 0:
        try:
            for r in range(world):
                shard = shard_path(path, r, world)
                if shard.exists():
                    for k, v in target.merge(shard).items():
                        counts[k] = counts.get(k, 0) + v
            for r in range(world):
                shard = shard_path(path, r, world)
                shard.unlink(missing_ok=True)
                shard.with_name(shard.name + ".lock").unlink(missing_ok=True)  # Catalog's writer lock
        except Exception as exc:
            error = f"merging the shards into {path} failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
    if world > 1:
        box = [(counts, error)]
        dist.broadcast_object_list(box, src=0, group=group)
        counts, error = box[0]
    if error:
        raise SpherecodesError(error + "; the shard files are kept next to it")
    return counts


def format_rows(report: BuildReport) -> str:
    """A table of the solved and failed rows, then the counts."""
    width = max([len(r.key) for r in report.rows] + [3])
    lines = [f"{'key':<{width}} {'rank':>4}  {'status':<8}{'primary score':>30}{'time_s':>9}  note"]
    for r in report.rows:
        if r.status in ("present", "invalid"):
            continue
        score = f"{r.primary}={r.score:.12g}" if r.primary else ""
        lines.append(f"{r.key:<{width}} {r.rank:>4}  {r.status:<8}{score:>30}{r.seconds:>9.2f}  {r.note}")
    lines.append("requests: " + ", ".join(f"{k}={v}" for k, v in sorted(report.statuses.items()))
                 + "; catalog: " + ", ".join(f"{k}={v}" for k, v in report.counts.items())
                 + f"; {report.world_size} rank(s), {report.time_s:.1f} s -> {report.catalog}")
    return "\n".join(lines)
