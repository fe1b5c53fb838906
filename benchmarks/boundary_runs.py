"""The boundary benchmark's samplers and runs: each sampler's trials on a synthetic map, scored
(`benchmarks/boundary.py` documents the choices: *Samplers*)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import optuna
import polars as pl
from optuna.distributions import BaseDistribution, FloatDistribution
from threadpoolctl import threadpool_limits

from benchmarks.boundary_error import reference, study_errors
from benchmarks.boundary_maps import AXES, MAPS, REGIMES, SyntheticMap, cell_centres, jitter
from study.sweep.attrs import PROPOSAL as PROPOSAL_ATTR
from study.sweep.boundary import BoundarySampler
from study.sweep.sampler_specs import SobolOptions, TPEOptions

BATCH = 4  # trials asked before any is told: 4 parallel workers
# the boundary sampler with the disagreement score it had first, and with the information score
# and replicates (its default since the replay benchmark) beside it
BOUNDARY_VARIANTS = {
    "boundary": {"score": "disagreement", "replicates": False},
    "boundary-bald": {"score": "bald", "replicates": True},
}
SAMPLERS = ("grid", "random", "sobol", "tpe", *BOUNDARY_VARIANTS)


def search_space(dims: int) -> dict[str, FloatDistribution]:
    return {name: FloatDistribution(0.0, 1.0) for name in AXES[:dims]}


def optuna_sampler(name: str, dims: int, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler a sweep spec of this kind builds (`study.sweep.samplers.build_sampler`)."""
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "sobol":
        return optuna.samplers.QMCSampler(
            qmc_type="sobol",
            seed=seed,
            warn_asynchronous_seeding=False,
            **SobolOptions().model_dump(),
        )
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **TPEOptions().model_dump())
    if name in BOUNDARY_VARIANTS:
        return BoundarySampler(search_space(dims), seed=seed, **BOUNDARY_VARIANTS[name])
    raise ValueError(f"not an Optuna sampler here: {name!r}")


@dataclass(frozen=True)
class Trials:
    """A sampler's trials in the order they were asked, the wall time until each was told, and
    why the sampler chose each point (the boundary sampler's `proposal` attr, else "")."""

    unit: np.ndarray  # (n, d)
    labels: np.ndarray  # (n,) regime index
    seconds: np.ndarray  # (n,) cumulative
    proposals: np.ndarray  # (n,) str


def ask_and_tell(
    study: optuna.Study,
    space: Mapping[str, BaseDistribution],
    n_trials: int,
    observe: Callable[[optuna.Trial], float],
    batch: int = BATCH,
) -> list[int]:
    """Ask `batch` trials of `space` before telling any (parallel workers), `observe` each (it
    sets the trial's attrs and returns the value told), until `n_trials`; the trial numbers in
    the order asked."""
    numbers: list[int] = []
    while len(numbers) < n_trials:
        asked = [study.ask(dict(space)) for _ in range(min(batch, n_trials - len(numbers)))]
        for trial in asked:
            study.tell(trial, observe(trial))
            numbers.append(trial.number)
    return numbers


def quiet_study(sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    """An in-memory study, Optuna's logs and experimental warnings off."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna.create_study(direction="maximize", sampler=sampler)


def proposals_of(study: optuna.Study, numbers: Sequence[int]) -> np.ndarray:
    """(n,) why the sampler chose each trial's point (the boundary sampler's attr, else "")."""
    why = {t.number: t.user_attrs.get(PROPOSAL_ATTR, "") for t in study.get_trials(deepcopy=False)}
    return np.array([str(why[n]) for n in numbers])


def run_study(name: str, synthetic: SyntheticMap, n_trials: int, seed: int) -> Trials:
    """Run an in-memory Optuna study of `n_trials` on the synthetic map, in batches of BATCH."""
    space = search_space(synthetic.dims)
    study = quiet_study(optuna_sampler(name, synthetic.dims, seed))
    noise = jitter(seed, n_trials, synthetic.dims)
    unit, labels, seconds = [], [], []
    start = time.perf_counter()

    def observe(trial: optuna.Trial) -> float:
        point = np.array([trial.params[a] for a in space])
        (regime,), (score,) = synthetic.observe(point, noise[trial.number])
        trial.set_user_attr("regime", REGIMES[regime])
        unit.append(point)
        labels.append(regime)
        seconds.append(time.perf_counter() - start)
        return float(score)

    numbers = ask_and_tell(study, space, n_trials, observe)
    return Trials(np.array(unit), np.array(labels), np.array(seconds), proposals_of(study, numbers))


def grid_trials(side: int, synthetic: SyntheticMap, seed: int) -> Trials:
    """A side^d grid's trials, labelled with the seed's noise sequence."""
    unit = cell_centres(side, synthetic.dims).reshape(-1, synthetic.dims)
    labels = synthetic.observe(unit, jitter(seed, len(unit), synthetic.dims))[0]
    return Trials(unit, labels, np.zeros(len(unit)), np.full(len(unit), ""))


@dataclass(frozen=True)
class Setting:
    """What one dimension's benchmark runs: budgets of the sequential samplers, grid sides, and
    the reference grid's resolution."""

    dims: int
    budgets: tuple[int, ...]
    grid_sides: tuple[int, ...]
    resolution: int


SETTINGS = {
    "default": (
        Setting(2, (12, 16, 24, 32, 48, 64), (3, 4, 5, 6, 7, 8, 10, 12, 14), 200),
        Setting(3, (16, 24, 32, 48, 64, 96, 128), (3, 4, 5, 6, 7), 48),
    ),
    "quick": (
        Setting(2, (16, 24, 32), (4, 6, 8), 100),
        Setting(3, (16, 32), (3, 4), 32),
    ),
}


def sampler_run(name: str, setting: Setting, seed: int) -> tuple[list[dict], Trials]:
    """One row per budget (per grid size, for the grid) of one sampler and seed, and the trials
    of its largest budget."""
    synthetic, ref = MAPS[setting.dims], reference(setting.dims, setting.resolution)
    with threadpool_limits(1):  # small matrices on a shared machine: BLAS threads only contend
        if name == "grid":
            runs = [grid_trials(k, synthetic, seed) for k in setting.grid_sides]
            cuts = [(len(t.labels), t) for t in runs]
        else:
            trials = run_study(name, synthetic, max(setting.budgets), seed)
            cuts = [(n, trials) for n in setting.budgets]
        rows = [
            {"sampler": name, "dims": setting.dims, "n_trials": n, "seed": seed}
            | study_errors(t.unit[:n], t.labels[:n], ref)
            | {"sampler_seconds": float(t.seconds[n - 1])}
            for n, t in cuts
        ]
    return rows, cuts[-1][1]


def points_frame(name: str, dims: int, seed: int, trials: Trials) -> pl.DataFrame:
    """A run's trials, one row each: where the budget went, and why (null: no reason given)."""
    frame = pl.DataFrame(trials.unit, schema=list(AXES[:dims]), orient="row")
    return frame.with_columns(
        sampler=pl.lit(name),
        dims=pl.lit(dims),
        seed=pl.lit(seed),
        trial=pl.int_range(pl.len()),
        regime=pl.Series([REGIMES[i] for i in trials.labels]),
        proposal=pl.Series([p or None for p in trials.proposals], dtype=pl.String),
    )


def run_benchmark(
    settings: Iterable[Setting],
    seeds: Sequence[int],
    samplers: Sequence[str] = SAMPLERS,
    jobs: int = 1,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every (setting, sampler, seed): the rows (one per budget) and the trials of each run's
    largest budget; in `jobs` processes."""
    tasks = [(name, s, seed) for s in settings for name in samplers for seed in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(sampler_run, *zip(*tasks, strict=True)))
    else:
        results = [sampler_run(*task) for task in tasks]
    rows = pl.DataFrame([row for rows, _ in results for row in rows])
    points = pl.concat(
        [
            points_frame(name, s.dims, seed, trials)
            for (name, s, seed), (_, trials) in zip(tasks, results, strict=True)
        ],
        how="diagonal",
    )
    return rows, points
