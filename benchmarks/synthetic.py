"""A synthetic study, written through the same tracking code as a real sweep's trials.

For the loading benchmark and for tests that must not train. Metrics are smooth made-up
functions of the swept params (structural ICL grows with the forgetting horizon N and falls
with α; head IWL grows with α), not results: nothing here is science. Everything else is the
real thing: each run is opened by `study.tracking.trial_run.start_run`, its curves written by the run
logger, its summary computed by `study.trial.summary.summarize` and logged by `log_summary`,
and the parent carries the study's axes as a sweep's parent does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from study.config import PROTOCOLS, TrialConfig
from study.dotted import nest
from study.features import Curve
from study.metric_names import (
    ACC_TAIL,
    ACC_VAL,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    LOSS_TRAIN,
    N_DECILES,
    decile,
    structural,
)
from study.presets import deep_merge
from study.tracking import schema
from study.tracking.store import Store
from study.tracking.trial_run import log_config, log_summary, start_run
from study.trial.summary import summarize

# param → (low, high, log scale)
DEFAULT_AXES: dict[str, tuple[float, float, bool]] = {
    "task.zipf_exponent": (0.0, 2.0, False),
    "forgetting.forget_until": (100.0, 10_000.0, True),
}
CURVE_METRICS: tuple[str, ...] = (
    *(structural(p) for p in PROTOCOLS),
    ICL_HEAD,
    IWL_HEAD,
    ICL_TAIL,
    IWL_TAIL,
    ACC_VAL,
    ACC_TAIL,
)


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _trial_curves(
    values: Mapping[str, float], steps: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Made-up curves: ICL peaks early then decays to a level set by N and α."""
    alpha = float(values.get("task.zipf_exponent", 1.0))
    horizon = float(values.get("forgetting.forget_until") or 100.0)
    t = steps / max(steps[-1], 1)
    icl_end = float(_sigmoid(3.0 * (math.log10(horizon) - 2.6 - 0.6 * alpha)))
    iwl_end = float(_sigmoid(5.0 * (alpha - 0.9)))
    rise = 1 - np.exp(-t / 0.08)
    decay = np.exp(-np.maximum(t - 0.2, 0) / 0.25)
    peak = max(icl_end, 0.55 + 0.15 * alpha / 2)
    noise = lambda: rng.normal(0, 0.02, steps.size)  # noqa: E731
    icl = {
        p: np.clip(rise * (icl_end + (peak - icl_end) * decay) * scale + noise(), 0, 1)
        for p, scale in zip(PROTOCOLS, (1.0, 0.8, 1.1), strict=True)
    }
    iwl_head = np.clip(iwl_end * (1 - np.exp(-t / 0.3)) + noise(), 0, 1)
    icl_head = np.clip((1 - iwl_head) * icl["paper"] + noise(), 0, 1)
    iwl_tail = np.clip(0.5 * iwl_head + noise(), 0, 1)
    acc_val = np.clip(1 - 0.9 * np.exp(-t / 0.2) + noise(), 0, 1)
    curves = {
        ICL_STRUCTURAL: icl["paper"],  # the headline (protocol `paper`): the writer leaves it out
        **{structural(p): icl[p] for p in PROTOCOLS},
        ICL_HEAD: icl_head,
        IWL_HEAD: iwl_head,
        ICL_TAIL: np.clip(icl["paper"] * (1 - iwl_tail) + noise(), 0, 1),
        IWL_TAIL: iwl_tail,
        ACC_VAL: acc_val,
        ACC_TAIL: np.clip(acc_val * (0.6 + 0.4 * icl["paper"]), 0, 1),
        LOSS_TRAIN: -np.log(np.clip(acc_val, 0.05, 1)),
    }
    for d in range(N_DECILES):  # rarer tokens rely on context, frequent ones on weights
        share = d / (N_DECILES - 1)
        curves[decile(d)] = np.clip(acc_val * ((1 - share) * iwl_head + share * icl["paper"]), 0, 1)
    return curves


def write_synthetic_study(
    store: Store,
    name: str = "demo",
    *,
    n_trials: int = 40,
    n_steps: int = 20,
    eval_every: int = 100,
    axes: Mapping[str, tuple[float, float, bool]] = DEFAULT_AXES,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
) -> str:
    """Write a parent run and `n_trials` child runs with random axis values; return the parent id.

    `metrics` limits the logged curves (default: all of `_trial_curves`); the summary is always
    computed from all of them, as a trial's is.
    """
    rng = np.random.default_rng(seed)
    client = store.client()
    experiment_id = store.experiment_id(name)
    scales = {key: "log" if log else "linear" for key, (_, _, log) in axes.items()}
    parent_tags = {
        schema.STUDY: name,
        schema.ROLE: schema.ROLE_STUDY,
        schema.AXES: json.dumps(scales),
    }
    parent_id = client.create_run(experiment_id, run_name=name, tags=parent_tags).info.run_id
    steps = np.arange(1, n_steps + 1) * eval_every
    base = {
        "forgetting": {"kind": "temporary", "forget_every": 10, "forget_until": 1000},
        "train": {"steps": int(steps[-1])},
    }
    defaults = TrialConfig.model_validate(base).flat()  # the types of the axes
    for number in range(n_trials):
        values = {}
        for key, (low, high, log) in axes.items():
            u = rng.uniform(math.log(low), math.log(high)) if log else rng.uniform(low, high)
            value = math.exp(u) if log else u
            values[key] = round(value) if isinstance(defaults[key], int) else round(value, 4)
        values["train.seed"] = number
        config = TrialConfig.model_validate(deep_merge(base, nest(values)))
        curves = _trial_curves(values, steps, rng)
        curve: Curve = [
            (int(s), {m: float(v[i]) for m, v in curves.items()}) for i, s in enumerate(steps)
        ]
        tags = {
            schema.STUDY: name,
            schema.TRIAL_NUMBER: str(number),
            schema.REPLICATE_GROUP: str(number),
        }
        log = start_run(
            store, config, name, "cpu", parent_id, tags, f"{name}-{number}", version="synthetic"
        )
        logged = (
            [(s, {m: v for m, v in point.items() if m in metrics}) for s, point in curve]
            if metrics is not None
            else curve
        )
        log_config(log, config)
        log.history(logged)
        log_summary(log, curve, summarize(curve, config))
        log.end("FINISHED")
    client.set_terminated(parent_id)
    return parent_id
