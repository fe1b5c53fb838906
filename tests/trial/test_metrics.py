"""Metrics (study/trial/metrics.py) and trial summaries (study/trial/summary.py) on hand-built predictions
and curves; the oracles are also run through the Evaluator to check the logged names."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from study.config import EvalConfig, TaskConfig, Thresholds, TrialConfig
from study.features import peak
from study.regimes import regime
from study.trial.evaluate import Evaluator
from study.trial.holdout import HoldoutProbe
from study.trial.metrics import accuracy_by_decile, context_and_memory, exact_match, share
from study.trial.seeds import generator
from study.trial.summary import summarize
from study.trial.tasks import QUERY, Batch, Task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N = 4000  # sequences per hand-built set; a share of 0.5 has standard error 0.008


@pytest.fixture
def task() -> Task:
    return Task(TaskConfig(n_vocab=40, n_holdout=6, zipf_exponent=1.5, p_ambiguous=0.1))


def random_role(batch: Batch, rng: torch.Generator) -> Tensor:
    """Copies both context tokens correctly but picks which one goes to target 1 by a coin."""
    coin = torch.rand(len(batch), generator=rng) < 0.5
    first = torch.where(coin, batch.after_copula, batch.other)
    return torch.stack([first, batch.query, batch.query], dim=1)


def test_exact_match_needs_all_three_targets():
    answer = torch.tensor([[1, 2, 2], [1, 2, 2], [1, 2, 2]])
    pred = torch.tensor([[1, 2, 2], [1, 2, 3], [0, 2, 2]])
    assert exact_match(pred, answer).tolist() == [True, False, False]
    assert math.isnan(share(torch.zeros(0, dtype=torch.bool)))


@pytest.mark.parametrize("split", ["switch", "tail_switch"])
def test_context_oracle_is_all_icl_no_iwl(task, split, rng):
    batch = task.sample(split, N, rng)
    assert context_and_memory(batch.targets, batch) == (1.0, 0.0)


def test_memorised_role_oracle_is_all_iwl_on_switch(task, rng):
    batch = task.sample("switch", N, rng)
    assert context_and_memory(batch.swapped, batch) == (0.0, 1.0)


@pytest.mark.parametrize("split", ["holdout", "switch", "tail_switch"])
def test_random_role_copier_scores_one_half(task, split, rng):
    """0.5 ± 0.04 (5 standard errors) on the context reading, and on the memorised one."""
    batch = task.sample(split, N, rng)
    icl, iwl = context_and_memory(random_role(batch, rng), batch)
    assert icl == pytest.approx(0.5, abs=0.04)
    assert iwl == pytest.approx(0.5, abs=0.04)
    assert icl + iwl == pytest.approx(1.0)


def test_model_that_cannot_copy_unseen_tokens_scores_zero_on_holdout(task, rng):
    """Guessing any id uniformly (held-out ids included) gets all three targets right with
    p ≈ 1/48³: below 0.005 on 4,000 sequences. Predicting seen tokens only: exactly 0."""
    batch = task.sample("holdout", N, rng)
    guess = torch.randint(0, task.vocab.size, (N, 3), generator=rng)
    assert share(exact_match(guess, batch.targets)) < 0.005
    seen_only = torch.randint(0, task.vocab.n_content, (N, 3), generator=rng)
    assert share(exact_match(seen_only, batch.targets)) == 0.0


def test_icl_plus_iwl_at_most_one(task, rng):
    batch = task.sample("switch", N, rng)
    mixed = torch.where(
        (torch.rand(N, generator=rng) < 0.3)[:, None],
        batch.targets,
        torch.where(
            (torch.rand(N, generator=rng) < 0.5)[:, None], batch.swapped, batch.swapped.flip(1)
        ),
    )
    icl, iwl = context_and_memory(mixed, batch)
    assert icl == pytest.approx(0.3, abs=0.04)
    assert icl + iwl <= 1.0 and icl + iwl < 0.9


def test_accuracy_by_decile():
    """Class size 20: ranks 2d and 2d+1 form decile d; empty deciles are left out."""
    ranks = torch.tensor([0, 1, 1, 2, 3, 19, 19, 18, 18])
    hits = torch.tensor([True, True, False, False, False, True, True, True, False])
    assert accuracy_by_decile(hits, ranks, 20) == pytest.approx({0: 2 / 3, 1: 0.0, 9: 0.75})
    # a class size that does not divide by 10: 25 ranks, decile = rank·10 // 25
    out = accuracy_by_decile(torch.ones(25, dtype=torch.bool), torch.arange(25), 25)
    assert sorted(out) == list(range(10)) and all(v == 1.0 for v in out.values())


@pytest.mark.parametrize(
    ("icl", "iwl", "expected"),
    [
        (0.9, 0.9, "dual"),
        (0.9, 0.1, "icl"),
        (0.1, 0.9, "iwl"),
        (0.1, 0.1, "none"),
        (0.5, 0.5, "dual"),  # the threshold itself counts as present
        (0.4999, 0.5, "iwl"),
        (0.5, 0.4999, "icl"),
        (0.4999, 0.4999, "none"),
    ],
)
def test_regime_table(icl, iwl, expected):
    assert regime(icl, iwl, 0.5, 0.5) == expected


def test_regime_uses_the_given_thresholds():
    assert regime(0.45, 0.45, 0.4, 0.4) == "dual"
    assert regime(0.45, 0.45, 0.6, 0.4) == "iwl"
    assert regime(0.45, 0.45, 0.4, 0.6) == "icl"


def curve_of(icl_structural: list[float], iwl_head: list[float], step: int = 100):
    """A hand-built curve: the three protocols equal to the headline except `matched`, which
    stays at its peak (a scale artefact in the others, docs/design.md §2)."""
    curve = []
    top = 0.0
    for i, (icl, iwl) in enumerate(zip(icl_structural, iwl_head, strict=True)):
        top = max(top, icl)
        metrics = {"icl/structural": icl, "iwl/head": iwl, "acc/val": 0.1 * i}
        metrics |= {
            "icl/structural_paper": icl,
            "icl/structural_init": icl,
            "icl/structural_matched": top,
        }
        curve.append((i * step, metrics))
    return curve


def test_summarize_transient_curve():
    curve = curve_of([0.0, 0.3, 0.7, 0.7, 0.4, 0.2], [0.0, 0.1, 0.3, 0.6, 0.8, 0.9])
    summary = summarize(curve, TrialConfig())
    m = summary.metrics
    assert m["summary/structural_peak"] == 0.7
    assert m["summary/structural_peak_step"] == 200.0  # the first step the peak is reached
    assert m["summary/transience"] == pytest.approx(0.5)
    assert m["summary/transience_paper"] == pytest.approx(0.5)
    assert m["summary/transience_matched"] == 0.0
    assert m["summary/structural_matched_peak"] == 0.7
    assert (
        m["icl/structural"] == 0.2 and m["iwl/head"] == 0.9 and m["acc/val"] == pytest.approx(0.5)
    )
    assert m["summary/dual_score"] == 0.2
    assert summary.regime == "iwl"
    assert summary.transient is True


@pytest.mark.parametrize(
    ("icl", "transient", "expected_regime"),
    [
        ([0.1, 0.6, 0.55], False, "dual"),  # fell 0.05 of a 0.5 rise: not transient
        # rose 0.35 and fell all the way back, though never near 0.5: transient (the relative
        # criteria; the old rule asked for a peak ≥ 0.5 and said False)
        ([0.1, 0.45, 0.0], True, "iwl"),
        # reached 0.5 and ended a hair below: no fall to speak of, not transient (the old rule
        # said True); 0.4999 on 10,000 sequences is within the noise of 0.5: regime not called
        ([0.1, 0.5, 0.4999], False, "uncertain"),
        ([0.0, 0.03, 0.0], False, "iwl"),  # a rise of 0.03 is below the 0.05 minimum
    ],
)
def test_summarize_transient_flag_boundaries(icl, transient, expected_regime):
    summary = summarize(curve_of(icl, [0.0, 0.5, 0.6]), TrialConfig())
    assert summary.transient is transient
    assert summary.regime == expected_regime


def test_summarize_respects_configured_thresholds():
    curve = curve_of([0.1, 0.35, 0.2], [0.0, 0.2, 0.3])
    strict = TrialConfig()
    lenient = TrialConfig(eval=EvalConfig(thresholds=Thresholds(icl=0.3, iwl=0.25)))
    # the transient flag no longer depends on the ICL threshold: 0.1 → 0.35 → 0.2 is transient
    assert (summarize(curve, strict).regime, summarize(curve, strict).transient) == ("none", True)
    assert (summarize(curve, lenient).regime, summarize(curve, lenient).transient) == ("iwl", True)
    steep = TrialConfig(eval=EvalConfig(thresholds=Thresholds(transience_drop=0.8)))
    assert summarize(curve, steep).transient is False  # fell 0.15 of a 0.25 rise < 0.8


def test_peak_takes_the_first_step_of_ties_and_skips_missing():
    curve = [(0, {"a": 0.1}), (10, {"b": 1.0}), (20, {"a": 0.8}), (30, {"a": 0.8})]
    assert peak(curve, "a") == (0.8, 20)


class Oracle(nn.Module):
    """Answers from the sequence alone: the token after the copula, then the query twice
    (`context`), or the other context token first (`memory`). Has the rows HoldoutProbe reads."""

    def __init__(self, task: Task, reading: str):
        super().__init__()
        self.vocab, self.reading = task.vocab, reading
        self.tok_emb = nn.Embedding(task.vocab.size, 4)
        self.out_bias = nn.Parameter(torch.zeros(task.vocab.size))

    def forward(self, inputs: Tensor) -> Tensor:
        cop = (inputs == self.vocab.copula).int().argmax(dim=1)
        rows = torch.arange(len(inputs))
        after = inputs[rows, cop + 1]
        other = torch.where(cop == 0, inputs[:, 2], inputs[:, 0])
        first = after if self.reading == "context" else other
        answer = torch.stack([first, inputs[:, QUERY], inputs[:, QUERY]], dim=1)
        return nn.functional.one_hot(answer, self.vocab.size).float()  # [b, 3, vocab]


@pytest.mark.parametrize("reading", ["context", "memory"])
def test_oracles_through_the_evaluator(task, reading):
    """The context oracle scores 1 on every ICL metric and 0 on IWL; the memorised-role oracle
    the reverse on the switch sets, and ≈ 0 in distribution."""
    probe = HoldoutProbe(task.vocab, 4, 0.02, generator(1))
    evaluate = Evaluator(task, EvalConfig(n_examples=500, batch_size=128), probe, seed=5)
    m = evaluate(Oracle(task, reading))
    context = reading == "context"
    for name in ("icl/head", "icl/tail"):
        assert m[name] == float(context), name
    for name in ("iwl/head", "iwl/tail"):
        assert m[name] == float(not context), name
    for name in (
        "icl/structural",
        "icl/structural_paper",
        "icl/structural_init",
        "icl/structural_matched",
    ):
        assert m[name] == float(context), name
    assert m["acc/tail"] == float(context)
    if context:
        assert m["acc/val"] == 1.0
    else:  # right only where an ambiguity flip put the same id in both context slots
        assert m["acc/val"] < 0.05


@pytest.mark.parametrize(("n", "expected"), [(300, "uncertain"), (10_000, "dual")])
def test_a_regime_call_needs_the_evaluation_to_clear_the_threshold(n, expected):
    """0.52 structural ICL on 300 held-out sequences (Wilson 95%: 0.46–0.58) does not show ICL
    present; on 10,000 (0.51–0.53) it does. The call uses the trial's own `eval.n_examples`."""
    cfg = TrialConfig(eval=EvalConfig(n_examples=n))
    assert summarize(curve_of([0.1, 0.52], [0.5, 0.85]), cfg).regime == expected
