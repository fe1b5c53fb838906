"""Science checks too long for CI (docs/design.md §6): the reference match and the findings over seeds.

    python scripts/science.py reference --seeds 0,1,2,3,42 --out science-out
    python scripts/science.py findings --seeds 0,1,2,3,42 --out science-out
    python scripts/science.py --set task.ambiguity=twin reference   # any config key, every run

`reference` runs our `paper` preset at the reference scale for every row of the paper code's table
(study/science/reference.py: REFERENCE) and checks each cell against it: the mean over seeds
within TOLERANCE, and how many seeds are. `findings` runs the settings of
tests/science/test_findings.py over several seeds, each forgetting run beside its control, and
counts the seeds where the run shows the finding, where the control does, and where the run
beats its control by the slow tests' margin. Each distinct config runs once, in parallel (--jobs), and is cached as
OUT/<config>.json, named by the config and a digest of the source of `study/` (`code_digest`): the
two commands share runs, an interrupted check resumes, and a change to the code runs afresh. A run takes
3–6 minutes of one CPU core (8,000 steps).
`scripts/mechanisms.py` takes a forgetting point apart with the same runs and cache.
The other worlds' findings have their own script, `scripts/science_worlds.py`.
"""

from __future__ import annotations

import functools
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click
import torch
import yaml

from study.config import PROTOCOLS, TrialConfig
from study.controls import CONTRAST_MARGIN, control_overrides
from study.metric_names import IWL_HEAD, current, structural
from study.science.findings import FINDINGS, check_contrast
from study.science.reference import REFERENCE, from_curve, measure, reference_config


class _Seeds(click.ParamType):
    name = "SEEDS"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return tuple(int(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r}: expected comma-separated integers such as 0,1,2", param, ctx)


SEEDS = _Seeds()


@click.group()
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key in every run, e.g. --set task.ambiguity=paper.",
)
@click.pass_context
def cli(ctx, threads, sets):
    """Science checks of docs/design.md §6."""
    if threads:
        torch.set_num_threads(threads)
    ctx.obj = dict(parse_set(s) for s in sets)


def parse_set(item: str) -> tuple[str, object]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--set")
    return key, yaml.safe_load(value)


# The reference check: a cell passes when the mean over seeds is within this of the paper
# code's value (accuracies, `paper` protocol). Stated before the first check was run.
TOLERANCE = 0.10
CELLS = {  # reference column → our measurement
    "icl_peak": "icl.paper.peak",
    "icl_end": "icl.paper.end",
    "switch_end": "switch.end",
    "tail_switch_end": "tail_switch.end",
    "val_end": "val.end",
}


@cli.command()
@click.option(
    "--seeds", type=SEEDS, default="0,1,2,3,42", show_default=True, help="Comma-separated."
)
@click.option("--only", multiple=True, help="Run only reference rows whose name contains this.")
@click.option(
    "--jobs", type=int, default=os.cpu_count() or 1, show_default=True, help="Parallel runs."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("science-out")
)
@click.pass_obj
def reference(sets, seeds, only, jobs, out):
    """Our `paper` preset at the reference scale against the paper code's table: per cell, the
    mean over seeds ± sd, pass when within TOLERANCE of the reference, and how many seeds are.
    Runs are shared with `findings` through the cache under OUT."""
    rows = [r for r in REFERENCE if not only or any(o in r.name for o in only)]
    configs = {
        run_key(reference_config(r, seed, **sets)): reference_config(r, seed, **sets)
        for r in rows
        for seed in seeds
    }
    measured = run_all(configs, out, jobs)
    click.echo(
        f"| run | cell | reference | ours: mean ± sd over {len(seeds)} seeds | within {TOLERANCE} | seeds within |"
    )
    click.echo("|---|---|---|---|---|---|")
    passed = total = 0
    for run in rows:
        values = {cell: [] for cell in CELLS}
        for seed in seeds:
            row = measured[run_key(reference_config(run, seed, **sets))].row()
            for cell, ours in CELLS.items():
                values[cell].append(row[ours])
        for cell, ours in values.items():
            ref = getattr(run, cell)
            if ref is None:
                continue
            mean = sum(ours) / len(ours)
            sd = (sum((v - mean) ** 2 for v in ours) / max(len(ours) - 1, 1)) ** 0.5
            ok = abs(mean - ref) <= TOLERANCE
            near = sum(abs(v - ref) <= TOLERANCE for v in ours)
            passed, total = passed + ok, total + 1
            click.echo(
                f"| {run.name} | {cell} | {ref:.2f} | {mean:.2f} ± {sd:.2f} | {'pass' if ok else 'FAIL'} | {near}/{len(ours)} |"
            )
    click.echo(f"{passed} of {total} cells within {TOLERANCE} of the reference")


def _measure_job(job: tuple[str, dict]) -> tuple[str, dict]:
    """One run in a worker process (one torch thread): its row and curve, cached by name."""
    from study.config import TrialConfig

    name, tree = job
    torch.set_num_threads(1)
    start = time.perf_counter()
    measured = measure(TrialConfig.model_validate(tree))
    return name, {"measured": measured, "seconds": time.perf_counter() - start}


def run_all(jobs: dict[str, object], out: Path, workers: int) -> dict[str, object]:
    """Measure every distinct config once, in parallel; runs already saved under OUT are read
    back, so an interrupted check resumes where it stopped."""
    done: dict[str, object] = {}
    todo = {}
    for name, cfg in jobs.items():
        path = out / f"{name.replace(' ', '_')}.json"
        if path.exists():
            saved = json.loads(path.read_text())
            # a run saved before the metrics were renamed reads under today's names
            curve = [(int(s), {current(k): v for k, v in m.items()}) for s, m in saved["curve"]]
            done[name] = from_curve(curve, cfg)
        else:
            todo[name] = cfg.model_dump()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for name, result in pool.map(_measure_job, todo.items()):
            m = result["measured"]
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name.replace(' ', '_')}.json").write_text(
                json.dumps({"curve": m.curve, "peaks": m.icl_peak, "seconds": result["seconds"]})
            )
            click.echo(f"  ran {name} in {result['seconds'] / 60:.1f} min", err=True)
            done[name] = m
    return done


@cli.command()
@click.option(
    "--seeds", type=SEEDS, default="0,1,2,3,42", show_default=True, help="Comma-separated."
)
@click.option("--only", multiple=True, help="Run only findings whose name contains this.")
@click.option(
    "--jobs", type=int, default=os.cpu_count() or 1, show_default=True, help="Parallel runs."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("science-out")
)
@click.pass_obj
def findings(sets, seeds, only, jobs, out):
    """Each finding over several seeds, judged on the run and on its control (no forgetting,
    embeddings drawn at the reset std); a forgetting finding is the run's, not the embedding
    scale's, only where the run beats its control (`check_contrast`, the slow tests' check)."""
    chosen = [f for f in FINDINGS if not only or any(o in f.name for o in only)]
    pairs = {}  # (finding, seed) → (run config, control config or None)
    for finding in chosen:
        for seed in seeds:
            cfg = finding.config(seed, **sets)
            forgets = cfg.forgetting.kind != "none"
            pairs[finding.name, seed] = (
                cfg,
                finding.config(seed, **sets, **control_overrides(cfg)) if forgets else None,
            )
    configs = {run_key(c): c for pair in pairs.values() for c in pair if c is not None}
    measured = run_all(configs, out, jobs)
    click.echo(
        f"| finding | seed | run | control | protocol: run − control (structural ICL final) | {IWL_HEAD} run − control |"
    )
    click.echo("|---|---|---|---|---|---|")
    for finding in chosen:
        counts = {"run": 0, "control": 0, "contrast": 0}
        for seed in seeds:
            cfg, control_cfg = pairs[finding.name, seed]
            run = measured[run_key(cfg)]
            holds = finding.check(run)
            counts["run"] += holds.holds
            against = diffs = iwl = "—"
            if control_cfg is not None:
                control = measured[run_key(control_cfg)]
                verdict = finding.check(control)
                counts["control"] += verdict.holds
                counts["contrast"] += check_contrast(run, control, cfg.forgetting.kind).holds
                against = f"{'holds' if verdict.holds else 'no'}: {verdict.text}"
                diffs = ", ".join(f"{p} {_diff(run, control, structural(p))}" for p in PROTOCOLS)
                iwl = _diff(run, control, IWL_HEAD)
            click.echo(
                f"| {finding.name} | {seed} | {'holds' if holds.holds else 'no'}: {holds.text} | "
                f"{against} | {diffs} | {iwl} |"
            )
        n = len(seeds)
        line = f"{finding.name}: the run shows it in {counts['run']} of {n} seeds"
        if pairs[finding.name, seeds[0]][1] is not None:  # a forgetting finding
            line += (
                f"; its control in {counts['control']} of {n}; the run beats its control by"
                f" {CONTRAST_MARGIN} (the effect of forgetting) in {counts['contrast']} of {n}"
            )
        click.echo(line)


def _diff(run, control, metric: str) -> str:
    a, b = run.final[metric], control.final[metric]
    return f"{a:.2f}−{b:.2f}={a - b:+.2f}"


def code_digest(root: Path | None = None) -> str:
    """A digest of the code that trains a run: every source and preset file under `root`
    (default: the installed `study` package), by relative path and content. Uncommitted edits
    count, so a cached run is never read back after the code that made it changed."""
    import hashlib

    import study

    root = Path(root) if root is not None else Path(study.__file__).parent
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def _todays_code() -> str:
    return code_digest()


def run_key(cfg, code: str | None = None) -> str:
    """A readable, unique name for a config's run: what differs from the reference preset, and
    a digest of the config and of the code (`code_digest`)."""
    import hashlib

    code = _todays_code() if code is None else code
    tree = json.dumps({"config": cfg.model_dump(), "code": code}, sort_keys=True)
    digest = hashlib.sha1(tree.encode()).hexdigest()[:10]
    f = cfg.forgetting
    default_std = TrialConfig().model.embed_init_std
    if cfg.train.freeze_embeddings:
        kind = "frozen"
    elif cfg.train.embed_lr_scale != 1.0:
        kind = f"embedlr{cfg.train.embed_lr_scale:.3g}"
    elif f.kind == "temporary" and f.n_resets == 1:
        kind = "single_reset"
    elif f.kind == "none" and cfg.model.embed_init_std != default_std:
        kind = "control"
    else:
        kind = f.kind
    return (
        f"{kind}_a{cfg.task.zipf_exponent:g}_lr{cfg.train.lr:g}_{cfg.task.ambiguity}"
        f"_seed{cfg.train.seed}_{digest}"
    )


if __name__ == "__main__":
    cli()
