"""The replay benchmark's summary (mean ± standard error over sampler seeds) and its verdicts
against issue 20's targets (`benchmarks/replay.py`)."""

from __future__ import annotations

import math

import polars as pl

CALIBRATION = ("sure_share", "sure_agreement", "sure_claimed")
POSTERIORS = {"exact": "", "Laplace": "laplace_"}  # the maps' draws, and the old approximation's
METRICS = ("agreement", *CALIBRATION, *(f"laplace_{m}" for m in CALIBRATION))
TARGET_AGREEMENT = 0.90
TARGET_RATIO = 1 / 3
RIVALS = ("sobol", "random", "grid")  # to beat at 20 trials by > 2 se (grid: the 4 × 5)


def summarise(rows: pl.DataFrame) -> pl.DataFrame:
    """Per (sampler, n_trials): seeds, and mean and standard error of each metric."""
    stats = [
        agg
        for m in METRICS
        for agg in (
            pl.col(m).mean().alias(f"{m}_mean"),
            (pl.col(m).std() / pl.col(m).count().sqrt()).alias(f"{m}_se"),
        )
    ]
    order = list(dict.fromkeys(rows["sampler"].to_list()))
    return (
        rows.fill_nan(None)
        .group_by("sampler", "n_trials")
        .agg(pl.len().alias("seeds"), *stats, pl.col("repeat_picks").mean())
        .sort(pl.col("sampler").replace_strict(order, range(len(order))), "n_trials")
    )


def format_table(summary: pl.DataFrame, metric: str = "agreement") -> str:
    """Sampler × budget, mean ± se of `metric` (in %)."""
    budgets = sorted(set(summary["n_trials"]))
    lines = [
        f"{metric} (%), mean ± se over seeds",
        "sampler".ljust(14) + "".join(f"{n:>14}" for n in budgets),
    ]
    for sampler in dict.fromkeys(summary["sampler"].to_list()):
        part = {
            r["n_trials"]: r
            for r in summary.filter(pl.col("sampler") == sampler).iter_rows(named=True)
        }
        cells = [
            f"{100 * part[n][f'{metric}_mean']:.1f} ± {100 * (part[n][f'{metric}_se'] or 0):.1f}"
            if n in part and part[n][f"{metric}_mean"] is not None
            else "—"
            for n in budgets
        ]
        lines.append(sampler.ljust(14) + "".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)


def paired(
    rows: pl.DataFrame, a: str, b: str, n: int, nb: int | None = None
) -> tuple[float, float]:
    """Mean over seeds of a − b in agreement (a at n trials, b at nb), and its standard error."""
    left = rows.filter(pl.col("sampler") == a, pl.col("n_trials") == n).select("seed", "agreement")
    right = rows.filter(pl.col("sampler") == b, pl.col("n_trials") == (nb or n))
    joined = left.join(right.select("seed", "agreement"), on="seed", suffix="_b")
    diff = (joined["agreement"] - joined["agreement_b"]).to_numpy()
    se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return (float(diff.mean()), float(se)) if len(diff) else (float("nan"), float("nan"))


def _mean(summary: pl.DataFrame, sampler: str, n: int, metric: str = "agreement") -> float | None:
    part = summary.filter(pl.col("sampler") == sampler, pl.col("n_trials") == n)
    return part[f"{metric}_mean"][0] if part.height else None


def sampler_verdicts(rows: pl.DataFrame, summary: pl.DataFrame, sampler: str) -> list[str]:
    """One boundary variant against the targets at 20 trials and against the 99-point grid."""
    at20 = _mean(summary, sampler, 20)
    if at20 is None:
        return [f"{sampler}: no 20-trial rows"]
    word = "meets" if at20 >= TARGET_AGREEMENT else "misses"
    lines = [f"{sampler} at 20 trials: {at20:.1%} agreement, {word} the ≥ 90% target"]
    for rival in RIVALS:
        delta, se = paired(rows, sampler, rival, 20)
        if math.isnan(delta):
            continue
        beat = "beats it by > 2 se" if delta > 2 * se else "does not beat it by > 2 se"
        lines.append(f"  vs {rival} at 20: Δ = {100 * delta:+.1f} ± {100 * se:.1f} points: {beat}")
    full = _mean(summary, "grid", 99)
    if full is not None:
        budgets = sorted(set(rows.filter(pl.col("sampler") == sampler)["n_trials"]))
        reach = next((n for n in budgets if (_mean(summary, sampler, n) or 0) >= full), None)
        ratio = f"at {reach} trials (ratio {reach / 99:.2f})" if reach else "within no budget"
        met = "met" if reach is not None and reach <= 99 * TARGET_RATIO else "missed"
        lines.append(f"  the 99-point grid's {full:.1%} reached {ratio}: ≤ 1/3 {met}")
    for posterior, prefix in POSTERIORS.items():
        share, sure, claimed = (_mean(summary, sampler, 20, prefix + m) for m in CALIBRATION)
        if sure is None or share is None or claimed is None:
            continue
        gap = "within" if abs(sure - claimed) <= 0.05 else "not within"
        lines.append(
            f"  calibration at 20, {posterior} draws: sure (≥ 80% of draws agree) on {share:.1%} "
            f"of the map (target ≥ 60%); agreement there {sure:.1%} against {claimed:.1%} "
            f"claimed (the draws' mean agreement there): {gap} 5 points"
        )
    return lines


def verdicts(rows: pl.DataFrame, summary: pl.DataFrame) -> list[str]:
    samplers = [s for s in dict.fromkeys(rows["sampler"].to_list()) if s.startswith("boundary")]
    return [line for s in samplers for line in sampler_verdicts(rows, summary, s)]
