"""Packed trials: K trials of one architecture trained at once, as one batched computation.

A small model's step is a few hundred kernel launches around little arithmetic; K trials in one
process share those launches. The K models' parameters are stacked ([K, …] per tensor,
`torch.func.stack_module_state`) and the one model function is mapped over them with
`torch.func.vmap`; each trial keeps its own data law, seeds, learning rate, weight decay and
forgetting schedule (its `Lane` and a row of `PackedAdamW`). A trial sees the same batches,
dropout masks, resets and evaluation sets as alone (all of them drawn for the whole pack at once,
`study.trial.draws`), so its curve is the one `train` gives, within float tolerance (batched
matmuls round differently). A training step reads nothing back to the host; an evaluation reads
once for the pack.

A trial that fails — non-finite loss, or its `on_eval` / `on_step` callback raising (pruned,
timed out) — leaves the pack with its error, and the others go on. An interrupt stops them all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call, stack_module_state, vmap

from study.config import TaskConfig, TrialConfig
from study.trial.device import tune_allocator
from study.trial.draws import Draws
from study.trial.forgetting import cleared_state
from study.trial.lane import Lane, OnEval, OnStep
from study.trial.loss_window import LossWindow
from study.trial.model import MaskedLM, Noise, embedding_draw
from study.trial.pack_eval import evaluate_rows
from study.trial.packed_adamw import PackedAdamW
from study.trial.precision import precision
from study.trial.stacked import stacked_forward
from study.trial.train import Trained
from study.trial.worlds.api import task_part
from study.trial.worlds.pos import pos_model

TOKENS = "tok_emb.weight"
# How a pack computes its K models: `vmap` maps the one-trial module over the rows, `bmm` is the
# hand-stacked model of study.trial.stacked. bmm is the default, the faster where measured: on the
# CPU at the `small` shape, 60.0 against 42.4 trial-steps/s at pack 4, 62.9 against 56.7 at 16.
PACK_IMPLS = ("vmap", "bmm")
PACK_IMPL = "bmm"
Evaluation = tuple[list[float], dict[str, float]]  # (training-loss window row, metrics)


@dataclass(frozen=True)
class Member:
    """One trial of a pack: its config and its callbacks."""

    cfg: TrialConfig
    on_eval: OnEval | None = None
    on_step: OnStep | None = None


PackKey = tuple[int, int | None, str, int, int, str]


def pack_key(cfg: TrialConfig) -> PackKey:
    """What trials of one pack share: the shapes (vocabulary, held-out ids, model, batch), the
    length and the precision. Everything else may differ between them. POS trials only
    (`trains_alone`)."""
    t = task_part(cfg, TaskConfig)
    return (
        t.n_vocab,
        t.n_holdout,
        cfg.model.model_dump_json(),
        cfg.train.batch_size,
        cfg.train.steps,
        cfg.train.precision,
    )


def trains_alone(cfg: TrialConfig) -> bool:
    """A trial no pack can hold: a world other than the POS task (the stacked model and the
    batched evaluation are the POS task's), probabilistic forgetting, compiled, trained by SGD,
    or with its token embeddings frozen or on their own learning rate (PackedAdamW keeps one
    rate per trial and trains every parameter)."""
    t = cfg.train
    other_world = cfg.task.kind != "pos"
    per_step = cfg.forgetting.kind == "probabilistic"  # rows lent a draw within a step
    own_rule = t.optimizer != "adamw" or t.freeze_embeddings or t.embed_lr_scale != 1.0
    return other_world or per_step or t.compile or own_rule


def train_pack(
    members: Sequence[Member], device: torch.device, impl: str = PACK_IMPL
) -> list[Trained | Exception]:
    """Train the members together (`impl`: see PACK_IMPLS); each ends as its `Trained` or as the
    error it left with."""
    return PackTrainer(members, device, impl).run()


class PackTrainer:
    """One run of `train_pack`. Row r of the pack (of its parameters, draws and loss window) is
    member `live[r]`; a member that fails leaves, its rows are dropped and the rows behind it
    move up, so `live` maps the rows back to the members."""

    def __init__(self, members: Sequence[Member], device: torch.device, impl: str = PACK_IMPL):
        cfgs = [m.cfg for m in members]
        if any(c.task.kind != "pos" or c.forgetting.kind == "probabilistic" for c in cfgs):
            raise ValueError(
                "a pack holds task.kind 'pos' trials without probabilistic forgetting only; "
                "others train alone (`trains_alone`)"
            )
        if len({pack_key(c) for c in cfgs}) > 1:
            raise ValueError(
                "a pack's trials must share vocabulary, model, batch, steps, precision"
            )
        self.device = device
        self.train_cfg = cfgs[0].train  # steps and precision: shared (`pack_key`)
        self.lanes = [Lane.build(m.cfg, device, m.on_eval, m.on_step) for m in members]
        self.models = [pos_model(lane.model()) for lane in self.lanes]
        self.pack = Pack(self.models, cfgs, impl)
        self.draws = Draws(self.lanes)
        self.window = LossWindow(len(members), device)
        self.live = list(range(len(members)))  # member index of each row of the pack
        self.ended: dict[int, Trained | Exception] = {}  # by member index

    def run(self) -> list[Trained | Exception]:
        """Every step of every live trial, then each member as it ended."""
        tune_allocator()
        with precision(self.train_cfg.precision, self.device):
            self.evaluate(0)
            for step in range(1, self.train_cfg.steps + 1):
                if not self.live:
                    break
                self.train_step(step)
                self.evaluate(step)  # evaluate first, then reset (docs/design.md §4)
                self.forget(step)
                self.after_step(step)
        self.finish()
        return [self.ended[i] for i in range(len(self.lanes))]

    def train_step(self, step: int) -> None:
        """One optimiser step of every trial on its own batch; the losses stay on the device."""
        self.window.add(step, self.pack.step(*self.draws(step)))

    def evaluate(self, step: int) -> None:
        """The trials due at `step` add their evaluation to their curves and hand it to their
        callbacks; one that fails there (diverged, pruned) leaves."""
        found = self.evaluations(step)

        def record(row: int, i: int) -> None:
            if i in found:
                loss, metrics = found[i]
                lane = self.lanes[i]
                lane.add(step, lane.train_loss(loss) | metrics)

        self.each(record)

    def evaluations(self, step: int) -> dict[int, Evaluation]:
        """By member index, the evaluations of the trials due at `step`: one batched evaluation
        (study.trial.pack_eval) per evaluation-set size, since a batch stacks sets of one size."""
        lanes = self.lanes
        due = [(row, i) for row, i in enumerate(self.live) if step in lanes[i].schedule]
        found: dict[int, Evaluation] = {}
        for size in sorted({lanes[i].cfg.eval.n_examples for _, i in due}):
            group = [(row, i) for row, i in due if lanes[i].cfg.eval.n_examples == size]
            rows = [row for row, _ in group]
            evaluators = [lanes[i].pos.evaluator for _, i in group]
            evaluated = evaluate_rows(self.pack, rows, evaluators, self.window)
            found |= {i: e for (_, i), e in zip(group, evaluated, strict=True)}
        return found

    def forget(self, step: int) -> None:
        """The resets due at `step`, each trial on its own row (`_forget`)."""
        _forget(step, self.lanes, self.live, self.pack)

    def after_step(self, step: int) -> None:
        """Each trial's `on_step` callback; one that raises (timed out) leaves."""

        def call(row: int, i: int) -> None:
            on_step = self.lanes[i].on_step
            if on_step:
                on_step(step)

        self.each(call)

    def each(self, call: Callable[[int, int], None]) -> None:
        """`call(row, member)` for every live trial; the ones that raise leave the pack, after
        the others have had their call."""
        failed = {}
        for row, i in enumerate(self.live):
            try:
                call(row, i)
            except Exception as err:
                failed[row] = err
        if failed:
            self.leave(failed)

    def leave(self, failed: dict[int, Exception]) -> None:
        """The trials at these rows end with their errors; the pack keeps only the other rows."""
        for row, err in failed.items():
            self.ended[self.live[row]] = err
        keep = [r for r in range(len(self.live)) if r not in failed]
        if keep:  # (none left: the loop ends)
            index = torch.tensor(keep, dtype=torch.long, device=self.device)
            self.pack.keep(index)
            self.draws.keep(index)
            self.window.keep(index)
        self.live = [self.live[r] for r in keep]

    def finish(self) -> None:
        """The trials still live at the end: each its own module, holding its row's weights."""
        for row, i in enumerate(self.live):
            model = _materialise(self.models[i], self.pack.params, row)
            self.ended[i] = Trained(model, self.lanes[i].curve)


class Pack:
    """K models of one architecture as stacked parameters and one mapped function, with their
    optimiser: `step(batches)` is one training step of every trial."""

    def __init__(
        self, models: Sequence[MaskedLM], cfgs: Sequence[TrialConfig], impl: str = PACK_IMPL
    ):
        self.base = copy.deepcopy(models[0]).to("meta")  # the function, without weights
        stacked, _ = stack_module_state(list(models))
        self.optimizer = PackedAdamW(stacked, cfgs)
        self.params = self.optimizer.params  # views of the optimiser's flat buffer
        self.device = next(iter(self.params.values())).device
        self.model_cfg, self.impl = cfgs[0].model, impl

    def forward(self, params: dict[str, Tensor], inputs: Tensor, noise: Noise | None) -> Tensor:
        """inputs [K, b, 7] → logits [K, b, 3, vocab], each row with its own parameters."""
        if self.impl == "bmm":
            return stacked_forward(self.model_cfg, params, inputs, noise)

        def one(p: dict[str, Tensor], x: Tensor, n: Noise | None) -> Tensor:
            logits: Tensor = functional_call(self.base, p, (x, n))
            return logits

        in_dims = (0, 0, None if noise is None else 0)  # masks, when any: one set per row
        mapped: Tensor = vmap(one, in_dims=in_dims)(params, inputs, noise)
        return mapped

    def step(self, inputs: Tensor, targets: Tensor, noise: Noise | None) -> Tensor:
        """One optimiser step of each trial on its batch (inputs [K, b, 7], targets [K, b, 3])
        and dropout masks; returns the K detached losses."""
        logits = self.forward(self.params, inputs, noise)
        losses = F.cross_entropy(logits.flatten(0, 2), targets.flatten(), reduction="none")
        per_trial = losses.view(inputs.shape[0], -1).mean(1)  # each trial's own mean loss
        self.optimizer.zero_grad()
        # rows share no parameter: each gets its own gradient
        per_trial.sum().backward()  # type: ignore[no-untyped-call]  # torch: unannotated
        self.optimizer.step()
        return per_trial.detach()

    def keep(self, rows: Tensor) -> None:
        """Only the trials at `rows` stay."""
        self.optimizer.keep(rows)
        self.params = self.optimizer.params


def _forget(step: int, lanes: Sequence[Lane], live: Sequence[int], pack: Pack) -> None:
    """Each trial's reset, on its own row: its token embeddings re-drawn from its generator, and
    the Adam state its config names cleared (study.trial.forgetting.forget, row by row)."""
    params, optimizer = pack.params, pack.optimizer
    for row, i in enumerate(live):
        lane = lanes[i]
        if not lane.forgets(step):
            continue
        with torch.no_grad():
            row_shape = params[TOKENS].shape[1:]
            params[TOKENS][row].copy_(
                embedding_draw(row_shape, lane.cfg.reset_std, lane.forget_rng)
            )
        scope = cleared_state(lane.cfg.forgetting)
        if scope != "none":
            optimizer.clear(row, [TOKENS] if scope == "embeddings" else list(params))
        lane.probe.embeddings_redrawn(lane.cfg.reset_std)


@torch.no_grad()
def _materialise(model: MaskedLM, params: dict[str, Tensor], row: int) -> MaskedLM:
    """`model` (the trial's own module) holding row `row` of the pack's parameters."""
    for name, p in model.named_parameters():
        p.copy_(params[name][row])
    return model
