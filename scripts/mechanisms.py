"""A forgetting point taken apart (docs/design.md §6, "The mechanism controls, measured").

    python scripts/mechanisms.py sweeps/effects/active.yaml \
        --point task.zipf_exponent=1.74,train.lr=1.85e-4,forgetting.reset_std=0.141

Runs the point of a sweep spec with its forgetting beside its control (no forgetting, embeddings
drawn once at the reset std), plain training (no forgetting, the init std) and the three mechanism
controls of `study.controls.MECHANISMS`, and prints each one's final structural ICL under every
held-out protocol, head IWL, the held-out rows' spread and norm, the embeddings' drift from their
initial draw, and whether forgetting beats it by its kind's rule. `--embed-lr-scale match` scales
the `embed_lr` control until its embeddings drift as far as the forgetting run's do
(`study.controls.matched_embed_lr_scale`, up to `--match-rounds` runs, each row printed). Runs go
through `scripts/science.py`'s cache (`--out`), in parallel (`--jobs`).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from science import SEEDS, parse_set, run_all, run_key

from study.config import PROTOCOLS
from study.controls import (
    MECHANISMS,
    beats_control,
    control_overrides,
    matched_embed_lr_scale,
    mechanism_overrides,
)
from study.metric_names import (
    EMBED_DRIFT,
    ICL_STRUCTURAL,
    IWL_HEAD,
    NORM_RATIO,
    SPREAD_RATIO,
    structural,
)

MATCH = "match"
MATCHED_WITHIN = 0.10  # a matched drift within 10 % of the target ends the rounds


class _Scale(click.ParamType):
    name = "SCALE"

    def convert(self, value, param, ctx):
        if value == MATCH:
            return value
        try:
            scale = float(value)
        except ValueError:
            scale = -1.0
        if scale <= 0:
            self.fail(f"{value!r}; allowed: a number > 0 or {MATCH!r}", param, ctx)
        return scale


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--point",
    required=True,
    metavar="KEY=V,KEY=V",
    help="The point of the spec's space, e.g. task.zipf_exponent=1.74,train.lr=1.85e-4.",
)
@click.option("--seeds", type=SEEDS, default="42", show_default=True, help="Comma-separated.")
@click.option(
    "--embed-lr-scale",
    type=_Scale(),
    default=MATCH,
    show_default=True,
    help="The embedding learning rate's factor in the `embed_lr` control, or 'match': scaled "
    "until its embeddings drift as far as the forgetting run's.",
)
@click.option(
    "--match-rounds",
    type=click.IntRange(1, 5),
    default=2,
    show_default=True,
    help="Runs of the `embed_lr` control under 'match' (each a new estimate of the scale).",
)
@click.option(
    "--jobs", type=int, default=os.cpu_count() or 1, show_default=True, help="Parallel runs."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("science-out")
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key in every run, e.g. --set train.steps=2000.",
)
def mechanisms(spec_path, point, seeds, embed_lr_scale, match_rounds, jobs, out, sets):
    """A forgetting point of SPEC against what could stand in for forgetting: its control (no
    forgetting, embeddings drawn once at the reset std), plain training (no forgetting, the
    init std), and the mechanism controls (`study.controls.MECHANISMS`): frozen embeddings at
    the reset std, embeddings at the reset std trained at lr × --embed-lr-scale, and a single
    reset at step k. Each row is read against the forgetting run by its kind's rule: where a
    row "matches" (the run does not beat it), that row alone explains the effect."""
    from study.presets import parse_assignment
    from study.sweep.points import point_config
    from study.sweep.spec import load_spec

    sets = dict(parse_set(s) for s in sets)
    spec = load_spec(spec_path)
    at = dict(parse_assignment(item) for item in point.split(","))

    def config(seed, overrides=None):
        return point_config(spec, {**at, **sets, "train.seed": seed, **(overrides or {})})

    rows: dict[tuple[str, int], object] = {}
    for seed in seeds:
        cfg = config(seed)
        rows["forgetting", seed] = cfg
        rows["control", seed] = config(seed, control_overrides(cfg))
        rows["plain", seed] = config(seed, {"forgetting.kind": "none"})
        for name in MECHANISMS:
            if name != "embed_lr" or embed_lr_scale != MATCH:
                over = mechanism_overrides(cfg, name, embed_lr_scale=embed_lr_scale)
                rows[name, seed] = config(seed, over)
    measured = run_all({run_key(c): c for c in rows.values()}, out, jobs)
    if embed_lr_scale == MATCH:
        _match_drift(rows, measured, seeds, config, match_rounds, out, jobs)
    _print_table(rows, measured)


def _drift(run) -> float:
    return run.final.get(EMBED_DRIFT, float("nan"))


def _match_drift(rows, measured, seeds, config, rounds, out, jobs) -> None:
    """Adds to `rows` and `measured` an `embed_lr` row a round, its scale re-estimated from the
    drifts measured so far (the control's at scale 1, then each round's), until within
    MATCHED_WITHIN of the forgetting run's drift."""
    target = {seed: _drift(measured[run_key(rows["forgetting", seed])]) for seed in seeds}
    drifts = {seed: {1.0: _drift(measured[run_key(rows["control", seed])])} for seed in seeds}
    live = list(seeds)
    for _ in range(rounds):
        batch = {}
        for seed in live:
            scale = round(matched_embed_lr_scale(target[seed], drifts[seed]), 2)
            over = mechanism_overrides(rows["forgetting", seed], "embed_lr", embed_lr_scale=scale)
            rows[f"embed_lr ×{scale:g}", seed] = batch[seed] = config(seed, over)
        measured |= run_all({run_key(c): c for c in batch.values()}, out, jobs)
        for seed, cfg in batch.items():
            drifts[seed][cfg.train.embed_lr_scale] = _drift(measured[run_key(cfg)])
        live = [
            seed
            for seed, cfg in batch.items()
            if abs(drifts[seed][cfg.train.embed_lr_scale] / target[seed] - 1) > MATCHED_WITHIN
        ]
        if not live:
            break


def _print_table(rows, measured) -> None:
    seeds = sorted({seed for _, seed in rows})
    kind = rows["forgetting", seeds[0]].forgetting.kind
    ratios = (SPREAD_RATIO, NORM_RATIO, EMBED_DRIFT)
    click.echo(
        f"| run | seed | {' / '.join(PROTOCOLS)} structural ICL | head IWL | "
        f"{' | '.join(ratios)} | forgetting − it (ICL, IWL) | forgetting beats it |"
    )
    click.echo("|---|---|---|---|---|---|---|---|---|")
    for (name, seed), cfg in rows.items():
        run, forgetting = measured[run_key(cfg)], measured[run_key(rows["forgetting", seed])]
        icl = " / ".join(f"{run.final[structural(p)]:.2f}" for p in PROTOCOLS)
        extra = " | ".join(f"{run.final.get(r, float('nan')):.3g}" for r in ratios)
        d_icl = forgetting.final[ICL_STRUCTURAL] - run.final[ICL_STRUCTURAL]
        d_iwl = forgetting.final[IWL_HEAD] - run.final[IWL_HEAD]
        verdict = "—" if name == "forgetting" else str(beats_control(kind, d_icl, d_iwl))
        click.echo(
            f"| {name} | {seed} | {icl} | {run.final[IWL_HEAD]:.2f} | {extra} | "
            f"{d_icl:+.2f}, {d_iwl:+.2f} | {verdict} |"
        )


if __name__ == "__main__":
    mechanisms()
