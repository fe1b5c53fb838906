"""A synthetic study written the way trials and sweeps write theirs (the tracking contract).

For the loading benchmark, for tests that must not train, and for demos. Metrics are smooth
made-up functions of the swept params (structural ICL grows with the forgetting horizon N and
falls with α; head IWL grows with α), not results: nothing here is science.

Runs, params, tags and summaries go through `MlflowClient`; with `bulk=True` the per-step
histories of a SQLite store are inserted in one SQL statement per run (MlflowClient.log_batch
would take minutes for 6 M points), which is the only other place that writes MLflow's tables.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Mapping, Sequence

import numpy as np
from mlflow.entities import Metric, Param

from study.config import PROTOCOLS, TrialConfig
from study.tracking.store import Store

# param → (low, high, log scale)
DEFAULT_AXES: dict[str, tuple[float, float, bool]] = {
    "task.zipf_exponent": (0.0, 2.0, False),
    "forgetting.forget_until": (100.0, 10_000.0, True),
}
CURVE_METRICS: tuple[str, ...] = (
    "icl.structural",
    "icl.structural.paper",
    "icl.structural.init",
    "icl.structural.matched",
    "icl.head",
    "iwl.head",
    "icl.tail",
    "iwl.tail",
    "acc.val",
    "acc.tail",
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
        "icl.structural": icl["paper"],
        **{f"icl.structural.{p}": icl[p] for p in PROTOCOLS},
        "icl.head": icl_head,
        "iwl.head": iwl_head,
        "icl.tail": np.clip(icl["paper"] * (1 - iwl_tail) + noise(), 0, 1),
        "iwl.tail": iwl_tail,
        "acc.val": acc_val,
        "acc.tail": np.clip(acc_val * (0.6 + 0.4 * icl["paper"]), 0, 1),
        "loss.train": -np.log(np.clip(acc_val, 0.05, 1)),
    }
    for decile in range(10):  # rarer tokens rely on context, frequent ones on weights
        share = decile / 9
        curves[f"acc.decile.{decile}"] = np.clip(
            acc_val * ((1 - share) * iwl_head + share * icl["paper"]), 0, 1
        )
    return curves


def _summaries(curves: Mapping[str, np.ndarray], steps: np.ndarray) -> dict[str, float]:
    out = {f"summary.{m}": float(v[-1]) for m, v in curves.items()}
    for suffix, key in [("", "icl.structural")] + [
        (f".{p}", f"icl.structural.{p}") for p in PROTOCOLS
    ]:
        series = curves[key]
        out[f"summary.icl.structural{suffix}.peak"] = float(series.max())
        out[f"summary.icl.structural{suffix}.peak_step"] = float(steps[int(series.argmax())])
        out[f"summary.transience{suffix}"] = float(series.max() - series[-1])
    out["summary.dual_score"] = min(out["summary.icl.structural"], out["summary.iwl.head"])
    return out


def write_synthetic_study(
    store: Store,
    name: str = "demo",
    *,
    n_trials: int = 40,
    n_steps: int = 20,
    eval_every: int = 100,
    axes: Mapping[str, tuple[float, float, bool]] = DEFAULT_AXES,
    metrics: Sequence[str] | None = None,
    bulk: bool = False,
    seed: int = 0,
) -> str:
    """Write a parent run and `n_trials` child runs with random axis values; return the parent id.

    `metrics` limits the logged step metrics (default: all of `_trial_curves`).
    """
    rng = np.random.default_rng(seed)
    client = store.client()
    experiment_id = store.experiment_id(name)
    parent = client.create_run(
        experiment_id, run_name=name, tags={"study": name, "dpl.role": "study"}
    )
    parent_id = parent.info.run_id
    steps = np.arange(1, n_steps + 1) * eval_every
    base = TrialConfig().model_dump()
    base["forgetting"].update(kind="temporary", forget_every=10, forget_until=1000)
    base["train"]["steps"] = int(steps[-1])
    con = sqlite3.connect(store.sqlite_path) if bulk and store.sqlite_path else None
    now = int(time.time() * 1000)
    for number in range(n_trials):
        values = {}
        for key, (low, high, log) in axes.items():
            u = rng.uniform(math.log(low), math.log(high)) if log else rng.uniform(low, high)
            value = math.exp(u) if log else u
            values[key] = round(value) if isinstance(_get(base, key), int) else round(value, 4)
        config = TrialConfig.model_validate(_set(base, values))
        curves = _trial_curves(values, steps, rng)
        summary = _summaries(curves, steps)
        if metrics is not None:
            curves = {m: curves[m] for m in metrics}
        icl, iwl = summary["summary.icl.structural"], summary["summary.iwl.head"]
        t_icl, t_iwl = config.eval.thresholds.icl, config.eval.thresholds.iwl
        regime = {(True, True): "dual", (True, False): "icl", (False, True): "iwl"}.get(
            (icl >= t_icl, iwl >= t_iwl), "none"
        )
        peak = summary["summary.icl.structural.peak"]
        tags = {
            "study": name,
            "trial_number": str(number),
            "replicate_group": str(number),
            "mlflow.parentRunId": parent_id,
            "regime": regime,
            "transient": str(peak >= t_icl and icl < t_icl).lower(),
            "protocol": config.eval.protocol,
            "dpl_version": "synthetic",
            "git_commit": "synthetic",
            "device": "cpu",
        }
        run = client.create_run(experiment_id, run_name=f"{name}-{number}", tags=tags)
        run_id = run.info.run_id
        params = [Param(k, str(v)) for k, v in config.flat().items()]
        params += [Param(f"seed.{p}", str(number)) for p in ("data", "init", "eval", "forgetting")]
        finals = [Metric(m, float(v[-1]), now, int(steps[-1])) for m, v in curves.items()]
        summaries = [Metric(k, v, now, int(steps[-1])) for k, v in summary.items()]
        client.log_batch(run_id, params=params)
        for start in range(0, len(summaries), 1000):
            client.log_batch(run_id, metrics=summaries[start : start + 1000])
        if con is not None:
            con.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
                [
                    (m, float(x), now, run_id, int(s))
                    for m, v in curves.items()
                    for s, x in zip(steps[:-1], v[:-1], strict=True)
                ],
            )
            con.commit()
            client.log_batch(run_id, metrics=finals)
        else:
            history = [
                Metric(m, float(x), now, int(s))
                for m, v in curves.items()
                for s, x in zip(steps, v, strict=True)
            ]
            for start in range(0, len(history), 1000):
                client.log_batch(run_id, metrics=history[start : start + 1000])
        client.set_terminated(run_id)
    if con is not None:
        con.close()
    client.set_terminated(parent_id)
    return parent_id


def _get(tree: Mapping, dotted: str):
    for part in dotted.split("."):
        tree = tree[part]
    return tree


def _set(tree: dict, values: Mapping[str, object]) -> dict:
    import copy

    out = copy.deepcopy(tree)
    for dotted, value in values.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return out
