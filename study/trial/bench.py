"""Speed of the trial's hot paths, for one config on one device (docs/design.md §4 shapes).

`bench`: training steps per second of one trial, seconds per full evaluation (five sets, holdout
under three protocols), and the time to sample the paper's 8 M training sequences in batches.
`bench_packs`: a pack's step time and trial-steps per second at each pack size, with peak memory,
and the ops dispatched and host syncs of one training step and one evaluation (what a GPU pays
launch by launch, counted on any device: `study.trial.op_count`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from study.config import TrialConfig
from study.trial.device import tune_allocator
from study.trial.draws import Draws
from study.trial.lane import Lane
from study.trial.loss_window import LossWindow
from study.trial.op_count import Counter
from study.trial.pack import PACK_IMPL, Pack
from study.trial.pack_eval import evaluate_rows
from study.trial.precision import precision
from study.trial.seeds import generator
from study.trial.train import make_optimizer, train_step
from study.trial.worlds.pos import pos_model

PAPER_SEQUENCES = 8_000_000


@dataclass(frozen=True)
class BenchResult:
    device: str
    threads: int
    precision: str
    allocator_tuned: bool  # `study.trial.device.tune_allocator` (off with DPL_MALLOC_TUNE=0)
    step_s: float
    steps_per_s: float
    eval_s: float
    sample_8m_s: float

    @property
    def sequences_per_s(self) -> float:
        return PAPER_SEQUENCES / self.sample_8m_s


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(
    cfg: TrialConfig,
    device: torch.device,
    steps: int = 100,
    evals: int = 2,
    sample_chunk: int = 128 * 100,
) -> BenchResult:
    tuned = tune_allocator()
    with precision(cfg.train.precision, device):
        timings = _time(cfg, device, steps, evals, sample_chunk)
    return BenchResult(str(device), torch.get_num_threads(), cfg.train.precision, tuned, *timings)


def _time(
    cfg: TrialConfig, device: torch.device, steps: int, evals: int, sample_chunk: int
) -> tuple[float, float, float, float]:
    g = generator(0, device)
    lane = Lane.build(cfg, device)
    task, model, draws = lane.task, pos_model(lane.model()), Draws([lane])
    optimizer = make_optimizer(model, cfg)
    for step in range(10):  # warm-up
        train_step(model, optimizer, *draws.alone(step))
    _sync(device)
    start = time.perf_counter()
    for step in range(steps):
        train_step(model, optimizer, *draws.alone(step))
    _sync(device)
    step_s = (time.perf_counter() - start) / steps

    evaluator = lane.pos.evaluator
    evaluator(model)  # warm-up
    start = time.perf_counter()
    for _ in range(evals):
        evaluator(model)
    _sync(device)
    eval_s = (time.perf_counter() - start) / evals

    start = time.perf_counter()
    for _ in range(PAPER_SEQUENCES // sample_chunk):
        task.sample("train", sample_chunk, g)
    _sync(device)
    sample_s = time.perf_counter() - start
    return step_s, 1 / step_s, eval_s, sample_s


@dataclass(frozen=True)
class PackPoint:
    pack: int
    impl: str  # study.trial.pack.PACK_IMPLS
    step_s: float  # one training step of the whole pack
    trial_steps_per_s: float
    eval_s_per_trial: float  # one batched evaluation of the pack, over its trials
    peak_memory_mb: float  # CUDA: allocated by torch for this size; CPU: the process's peak RSS
    step_ops: int  # ops dispatched by one training step of the pack (study.trial.op_count)
    step_syncs: int  # host syncs in it
    eval_ops: int  # ops of one evaluation of the pack
    eval_syncs: int  # host reads in it (all trials)


def bench_packs(
    cfg: TrialConfig,
    device: torch.device,
    sizes: Sequence[int],
    steps: int = 20,
    impls: Sequence[str] = (PACK_IMPL,),
) -> Iterator[PackPoint]:
    """Time `steps` training steps (after 3 warm-up steps) and one evaluation of packs of each
    size, for each way of computing a pack, then count the ops and syncs of one more of each;
    yields each size as it is measured."""
    tune_allocator()
    with precision(cfg.train.precision, device):
        for impl, k in ((impl, k) for impl in impls for k in sizes):
            yield _pack_point(cfg, device, k, impl, steps)


def _pack_point(cfg: TrialConfig, device: torch.device, k: int, impl: str, steps: int) -> PackPoint:
    cfgs = [
        cfg.model_copy(update={"train": cfg.train.model_copy(update={"seed": i})}) for i in range(k)
    ]
    lanes = [Lane.build(c, device) for c in cfgs]
    pack = Pack([pos_model(lane.model()) for lane in lanes], cfgs, impl)
    draws, window = Draws(lanes), LossWindow(k, device)

    def train(step: int) -> None:  # what train_pack does every step
        window.add(step, pack.step(*draws(step)))

    def evaluate() -> None:
        evaluate_rows(pack, list(range(k)), [lane.pos.evaluator for lane in lanes], window)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for step in range(1, 4):
        train(step)
    _sync(device)
    start = time.perf_counter()
    for step in range(4, 4 + steps):
        train(step)
    _sync(device)
    step_s = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    evaluate()
    _sync(device)
    eval_s = (time.perf_counter() - start) / k
    with Counter() as stepped:
        train(4 + steps)
    with Counter() as evaluated:
        evaluate()
    return PackPoint(
        pack=k,
        impl=impl,
        step_s=step_s,
        trial_steps_per_s=k / step_s,
        eval_s_per_trial=eval_s,
        peak_memory_mb=_peak_mb(device),
        step_ops=stepped.ops,
        step_syncs=stepped.syncs,
        eval_ops=evaluated.ops,
        eval_syncs=evaluated.syncs,
    )


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
