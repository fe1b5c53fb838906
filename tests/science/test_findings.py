"""Science acceptance (docs/design.md §6, findings 1–4) on the reference-scale `paper` preset.
Not in the test command (seven to seventeen minutes of two cores alone; the suite keeps under 20):
`python -m pytest -m reference` runs it. CI runs `test_quickstart_scale.py` instead.

Fixed seed (42, as the reference runs), thresholds stated in study/science/findings.py and fixed before any run. Every
forgetting run trains beside its control (no forgetting, token embeddings drawn once at the reset
std); both results are reported in the terminal summary, under all three held-out protocols.
The runs train in parallel processes, one torch thread each. Several seeds and the match against
the paper code's curves: `python scripts/science.py` (README, "Science checks").
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from study.controls import CONTRAST_MARGIN, control_overrides
from study.metric_names import IWL_HEAD
from study.science.findings import (
    FINDINGS,
    PAPER_ICL,
    Finding,
    Measured,
    check_contrast,
    check_dual,
)

pytestmark = [pytest.mark.slow, pytest.mark.reference]  # python -m pytest -m reference
SEED = 42  # the reference runs' seed (docs/design.md §6); other seeds: scripts/science.py findings
LARGER_N = 4000  # finding 4's second half: larger N moves towards ICL
# Every 200 steps, not the preset's 100: an evaluation reads 14,000 sequences (≈ 38 training
# steps), so this halves the fixture's evaluation cost (≈ 14% of its time). Training draws
# nothing during an evaluation, so every final value — and each contrast — is bit for bit the
# one at 100 (checked: a 400-step active run, every metric at steps 200 and 400 identical but
# `loss/train`, a mean over the steps since the last evaluation); peaks are read on half the
# points. scripts/science.py keeps the preset's 100.
EVAL_EVERY = 200


def _measure(args: tuple[Finding, dict[str, object]]) -> Measured:
    import torch

    from study.science.reference import measure

    torch.set_num_threads(1)
    finding, extra = args
    return measure(finding.config(SEED, **{"eval.every": EVAL_EVERY, **extra}))


def _jobs() -> dict[str, tuple[Finding, dict[str, object]]]:
    vanilla, _, active, temporary = FINDINGS
    # vanilla runs have no forgetting to control for; their N(0, 1)-embedding twin is in
    # `scripts/science.py findings`, which runs every control
    jobs = {"vanilla": (vanilla, {})}
    for label, finding in (("active", active), ("temporary", temporary)):
        jobs[label] = (finding, {})
        jobs[f"{label} control"] = (finding, control_overrides(finding.config(SEED)))
    jobs["temporary larger N"] = (temporary, {"forgetting.forget_until": LARGER_N})
    return jobs


@pytest.fixture(scope="module")
def runs() -> dict[str, Measured]:
    jobs = _jobs()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(_measure, jobs.values())
        return dict(zip(jobs, results, strict=True))


def _report(science_report, finding: Finding, runs: dict[str, Measured], run: str):
    """Report the run (and its control, if any) and return the run's verdict."""
    verdict = finding.check(runs[run])
    science_report(
        f"{finding.name} [seed {SEED}] {run}: {'holds' if verdict.holds else 'does NOT hold'} — {verdict.text}"
    )
    control = runs.get(f"{run} control")
    if control is not None:
        science_report(
            f"    control (no forgetting, embeddings at reset std): {finding.check(control).text}"
        )
    return verdict


@pytest.mark.parametrize(
    ("index", "run"),
    [(0, "vanilla"), (1, "vanilla"), (2, "active"), (3, "temporary")],
    ids=[
        "transience_under_vanilla_training",
        "tail_answered_more_by_context_than_head",
        "active_forgetting_keeps_icl_and_removes_head_iwl",
        "temporary_forgetting_gives_dual_process",
    ],
)
def test_finding(runs, science_report, index, run):
    verdict = _report(science_report, FINDINGS[index], runs, run)
    assert verdict.holds, verdict.text


@pytest.mark.xfail(
    strict=True,
    reason="does not reproduce at the reference scale (seed 42, lr 2e-4, 8,000 steps, the paper "
    "ambiguity law): N=4000 ends with structural ICL 0.63 and head IWL 0.98 against 0.62 and 0.96 "
    "at N=2000 — no move towards ICL beyond the 0.10 margin (before the counter-based random "
    "streams: 0.62 / 0.97 against 0.63 / 0.96; twin law: 0.64 / 0.96 against 0.66 / 0.94). "
    "Recorded as measured; strict, so a change that makes it appear shows as XPASS.",
)
def test_larger_forget_until_moves_towards_icl(runs, science_report):
    """Towards ICL by the platform's margin (CONTRAST_MARGIN), the other not moving against it
    by as much. The first run under the new random streams read 0.62 → 0.63 as a move (this
    test then had no margin: a 0.01 rise, within the noise of 2,000 sequences, was an XPASS)."""
    base, larger = runs["temporary"], runs["temporary larger N"]
    icl = base.final[PAPER_ICL], larger.final[PAPER_ICL]
    iwl = base.final[IWL_HEAD], larger.final[IWL_HEAD]
    science_report(
        f"4b larger N: N=2000 → icl {icl[0]:.2f}, iwl/head {iwl[0]:.2f}; "
        f"N={LARGER_N} → icl {icl[1]:.2f}, iwl/head {iwl[1]:.2f} ({check_dual(larger).text})"
    )
    more_icl, less_iwl = icl[1] - icl[0], iwl[0] - iwl[1]
    assert (more_icl >= CONTRAST_MARGIN and -less_iwl < CONTRAST_MARGIN) or (
        less_iwl >= CONTRAST_MARGIN and -more_icl < CONTRAST_MARGIN
    )


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(
            "active",
            marks=pytest.mark.xfail(
                strict=True,
                reason="at the reference scale (seed 42, k=100, a=0, lr 2e-4, paper ambiguity "
                "law) active forgetting does not beat its control: structural ICL 0.97 vs 0.97, "
                "head IWL 0.04 vs 0.02 — the effect is the N(0, 1) embedding scale, not the "
                "forgetting (before the counter-based random streams: 0.96 vs 0.97, 0.04 vs "
                "0.02; twin law: 0.97 vs 0.97, 0.04 vs 0.03)",
            ),
        ),
        pytest.param(
            "temporary",
            marks=pytest.mark.xfail(
                strict=True,
                reason="at the reference scale (seed 42, k=10, N=2000, a=1.5, lr 2e-4, paper "
                "ambiguity law) temporary forgetting does not beat its control by 0.10: structural "
                "ICL 0.62 vs 0.65, head IWL 0.96 vs 0.92 (before the counter-based random "
                "streams: 0.63 vs 0.65, 0.96 vs 0.89; twin law: 0.66 vs 0.68, 0.93 vs 0.87)",
            ),
        ),
    ],
)
def test_forgetting_beats_its_control(runs, science_report, run):
    """What the forgetting findings mean: the run against its control, by a stated margin.
    Strict xfails carry the measured values; a change that makes the effect appear shows as
    XPASS."""
    verdict = check_contrast(runs[run], runs[f"{run} control"], kind=run)
    science_report(
        f"contrast {run} [seed {SEED}]: {'holds' if verdict.holds else 'does NOT hold'} — {verdict.text}"
    )
    assert verdict.holds, verdict.text
