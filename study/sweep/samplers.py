"""The spec's Optuna sampler and pruner. The one module that builds the boundary sampler."""

from __future__ import annotations

import optuna

from study.sweep.boundary import BoundarySampler, distributions
from study.sweep.labels import ContrastLabeller, Labeller, Labels, regime_label
from study.sweep.points import first_config
from study.sweep.spec import SweepSpec


def build_sampler(spec: SweepSpec, worker: int = 0) -> optuna.samplers.BaseSampler:
    """The spec's sampler. Each worker process gets its own seed (seed + worker) so parallel
    workers do not propose the same points — except Sobol, whose workers must share one sequence."""
    seed, kind = spec.sampler_seed, spec.sampler.kind
    options = spec.sampler.options.model_dump()
    if kind == "grid":
        # The grid lives in the trial queue (`queue.fill`): every trial has fixed params,
        # so this sampler is never consulted; GridSampler itself can run a point twice in parallel.
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed + worker)
    if kind == "sobol":
        return optuna.samplers.QMCSampler(
            qmc_type="sobol", seed=seed, **options, warn_asynchronous_seeding=False
        )
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed + worker, **options)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed + worker, **options)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed + worker, **options)
    if kind == "boundary":  # every worker shares the seed: proposals are seeded by trial number
        cfg = first_config(spec)
        labeller: Labels
        if options.pop("label") == "contrast":
            labeller = ContrastLabeller(cfg.forgetting.kind if cfg is not None else "active")
        else:
            labeller = Labeller.of(cfg) if cfg is not None else regime_label
        return BoundarySampler(distributions(spec.space), labeller=labeller, seed=seed, **options)
    raise AssertionError(f"unhandled sampler kind {kind!r}")  # the spec's Literal rules it out


def build_pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    pruning = spec.pruning
    if pruning is None:
        return optuna.pruners.NopPruner()
    if pruning.kind == "median":
        return optuna.pruners.MedianPruner(**pruning.options.model_dump())
    return optuna.pruners.HyperbandPruner(**pruning.options.model_dump())
