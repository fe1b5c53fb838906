"""The training loop (study/trial/train.py) and the evaluation schedule (study/trial/schedule.py):
determinism, eval sets independent of training length, stopping on a non-finite loss."""

from __future__ import annotations

import math

import pytest
import torch

from study.config import PROTOCOLS, EvalConfig, ForgettingConfig, TrainConfig, TrialConfig
from study.metric_names import structural
from study.presets import build_config
from study.trial.evaluate import build_eval_sets
from study.trial.forgetting import should_forget
from study.trial.lane import NonFiniteLoss
from study.trial.schedule import eval_steps, is_aligned
from study.trial.seeds import trial_seeds
from study.trial.summary import summarize
from study.trial.tasks import EVAL_SPLITS, Task
from study.trial.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
# lr is capped at 1.0 by the config; at lr 1 AdamW's decoupled decay multiplies every weight by
# (1 − lr·wd) = −999,999 per step, so tiny's loss is NaN by step 3.
DIVERGES = ("train.lr=1.0", "train.weight_decay=1e6")


def test_same_config_and_seed_give_identical_curves_and_weights():
    cfg = build_config("tiny", sets=["train.steps=30", "eval.every=10"])
    first, again = train(cfg, CPU), train(cfg, CPU)
    assert [s for s, _ in first.curve] == [0, 10, 20, 30]
    assert first.curve == again.curve
    for name, value in first.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[name]), name


def test_different_seed_gives_a_different_curve():
    sets = ["train.steps=20", "eval.every=10"]
    seed0, seed1 = (
        build_config("tiny", sets=sets),
        build_config("tiny", sets=[*sets, "train.seed=1"]),
    )
    assert train(seed0, CPU).curve != train(seed1, CPU).curve
    assert trial_seeds(0) != trial_seeds(1)


def test_training_leaves_the_global_rng_alone():
    """The loop seeds dropout in a forked RNG and the model's default init is replaced, so the
    caller's global stream is where it was."""
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    train(build_config("tiny", sets=["train.steps=5"]), CPU)
    assert torch.equal(torch.rand(3), expected)


def test_eval_sets_and_early_curve_do_not_depend_on_training_length():
    """Step 0 (the untrained model on the eval sets) and step 20 are identical whether the trial
    runs 20 or 60 steps: same eval sets, same data stream."""
    short = train(build_config("tiny", sets=["train.steps=20"]), CPU).curve
    long = train(build_config("tiny", sets=["train.steps=60"]), CPU).curve
    assert short == long[:2]
    assert [s for s, _ in short] == [0, 20]


def test_build_eval_sets_is_a_function_of_the_seed(tiny_cfg):
    task = Task(tiny_cfg.task)
    a, b, c = (build_eval_sets(task, 100, seed) for seed in (11, 11, 12))
    assert tuple(a) == EVAL_SPLITS
    for split in EVAL_SPLITS:
        assert torch.equal(a[split].inputs, b[split].inputs), split
        assert not torch.equal(a[split].inputs, c[split].inputs), split
    # each split draws from its own seed: with a shared one, switch's nouns would be val's
    rank = task.vocab.token_rank
    assert not torch.equal(rank(a["val"].other), rank(a["switch"].after_copula))


@pytest.mark.parametrize("every", [20, 1])
def test_non_finite_loss_stops_the_trial_and_nothing_non_finite_is_reported(every):
    cfg = build_config("tiny", sets=[*DIVERGES, f"eval.every={every}"])
    reported: list[tuple[int, dict[str, float]]] = []
    with pytest.raises(NonFiniteLoss, match=r"became nan at step \d+"):
        train(cfg, CPU, on_eval=lambda step, metrics: reported.append((step, metrics)))
    assert reported, "the step-0 evaluation runs before any training"
    bad = [(step, k) for step, m in reported for k, v in m.items() if not math.isfinite(v)]
    assert bad == []
    assert reported[-1][0] < cfg.train.steps


def trial(eval_cfg: EvalConfig, steps: int, **forgetting) -> TrialConfig:
    return TrialConfig(
        eval=eval_cfg, train=TrainConfig(steps=steps), forgetting=ForgettingConfig(**forgetting)
    )


def test_eval_steps_every():
    assert eval_steps(trial(EvalConfig(every=20), 60)) == [0, 20, 40, 60]
    assert eval_steps(trial(EvalConfig(every=20), 50)) == [
        0,
        20,
        40,
        50,
    ]  # the final step is always in
    assert eval_steps(trial(EvalConfig(every=100), 30)) == [0, 30]
    assert eval_steps(trial(EvalConfig(every=1), 3)) == [0, 1, 2, 3]


@pytest.mark.parametrize("total", [8000, 62_500, 60])
def test_eval_steps_log_is_dense_early(total):
    steps = eval_steps(trial(EvalConfig(schedule="log", n_points=40), total))
    assert steps[0] == 0 and steps[-1] == total
    assert steps == sorted(set(steps)) and all(isinstance(s, int) for s in steps)
    assert len(steps) <= 41
    if total >= 8000:
        assert steps[1] == total // 200
        early = sum(s <= total // 10 for s in steps)
        late = sum(s > total // 2 for s in steps)
        assert early > 3 * late, (early, late)
        gaps = [b - a for a, b in zip(steps[1:-1], steps[2:], strict=True)]
        assert gaps[-1] > 20 * gaps[0]


@pytest.mark.parametrize("schedule", ["every", "log"])
@pytest.mark.parametrize(
    "forgetting",
    [
        {"kind": "active", "forget_every": 100},
        {"kind": "active", "forget_every": 300},  # 1,000 steps: the final step is mid-cycle
        {"kind": "temporary", "forget_every": 100, "forget_until": 650},
    ],
)
def test_forgetting_runs_are_evaluated_just_before_resets(schedule, forgetting):
    """Every aligned point sits just before a reset (a multiple of k while resets happen) or
    past the last one; a mid-cycle final step stays (the end state) with the last aligned step
    beside it; the summary reads only aligned points."""
    cfg = trial(EvalConfig(schedule=schedule, every=70, n_points=12), 1000, **forgetting)
    steps = eval_steps(cfg)
    k, until = forgetting["forget_every"], forgetting.get("forget_until")
    resets = [s for s in range(1, 1001) if should_forget(s, cfg.forgetting)]
    for step in steps:
        if not is_aligned(step, cfg):
            assert step == 1000 and forgetting["kind"] == "active" and 1000 % k
            continue
        assert step in resets or step == 0 or (until is not None and step >= until), step
    assert steps[-1] == 1000
    aligned = [s for s in steps if is_aligned(s, cfg)]
    assert aligned[-1] == (1000 // k * k if forgetting["kind"] == "active" else 1000)
    assert len(aligned) >= 3

    curve = [
        (s, {"icl/structural": 0.9 if is_aligned(s, cfg) else 0.1, "iwl/head": 0.0}) for s in steps
    ]
    curve = [(s, m | {structural(p): m["icl/structural"] for p in PROTOCOLS}) for s, m in curve]
    summary = summarize(curve, cfg)
    assert summary.metrics["icl/structural"] == 0.9  # the mid-cycle end state is not the final
    assert summary.metrics["summary/transience"] == 0.0


def test_runs_without_forgetting_or_alignment_keep_their_schedule():
    plain = eval_steps(trial(EvalConfig(schedule="log", n_points=12), 1000))
    off = trial(
        EvalConfig(schedule="log", n_points=12, align_to_forgetting=False),
        1000,
        kind="active",
        forget_every=100,
    )
    assert eval_steps(off) == plain and all(is_aligned(s, off) for s in plain)
