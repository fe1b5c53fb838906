"""The science CI runs, at the quickstart's scale; the reference scale (`test_findings.py`, six
8,000-step runs) runs with `python -m pytest -m reference`.

At α = 0.5 on the quickstart's config (sweeps/quickstart.yaml: `small`, 1,000 steps at lr 1e-3,
the token embeddings reset every k = 100 steps until step N), forgetting all along (N = 1,000)
against plain training (N = 0: the same config, seed and data, no reset). The forgetting run must
end `icl` and the plain run `iwl` by the platform's regime rule at the quickstart's thresholds,
and forgetting must beat plain training in active forgetting's direction by the platform's margin
(`study.controls`). The reference grid measured this pair before the test was written (seed 42:
structural ICL 0.92 and head IWL 0.05, against 0.00 and 0.77), so the test guards a measured
result. The embedding-scale control is not here: at this scale it is mapped by
`sweeps/effects/quick_active.yaml`, not asserted.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from study.config import TrialConfig
from study.metric_names import IWL_HEAD
from study.regimes import regime
from study.science.findings import PAPER_ICL, check_contrast
from study.science.reference import Measured
from study.sweep.points import point_config
from study.sweep.spec import SEED_KEY, load_spec

pytestmark = pytest.mark.slow
QUICKSTART = Path(__file__).parents[2] / "sweeps" / "quickstart.yaml"
ALPHA = 0.5


def quickstart_config(forget_until: int) -> TrialConfig:
    spec = load_spec(QUICKSTART)
    point = {
        "task.zipf_exponent": ALPHA,
        "forgetting.forget_until": forget_until,
        SEED_KEY: spec.seed,  # replicate 0's seed, as the sweep gives it
    }
    return point_config(spec, point)


def _measure(forget_until: int) -> Measured:
    import torch

    from study.science.reference import measure

    torch.set_num_threads(1)
    return measure(quickstart_config(forget_until))


def test_forgetting_all_along_keeps_icl_and_drops_head_iwl_against_plain_training(
    science_report,
):
    with ProcessPoolExecutor(max_workers=2) as pool:
        forgetting, plain = pool.map(_measure, (1000, 0))
    evaluation = quickstart_config(0).eval
    calls = [
        regime(
            m.final[PAPER_ICL],
            m.final[IWL_HEAD],
            evaluation.thresholds.icl,
            evaluation.thresholds.iwl,
            evaluation.n_examples,
        )
        for m in (forgetting, plain)
    ]
    verdict = check_contrast(forgetting, plain, kind="active")
    science_report(
        f"quickstart scale, α = {ALPHA}, seed 42: N = 1000 → {calls[0]}, N = 0 → {calls[1]}; "
        f"{verdict.text}"
    )
    assert calls == ["icl", "iwl"]
    assert verdict.holds, verdict.text
