"""Our model against the paper's released one (Anand et al. 2025: `BertForMaskedLM` of
HuggingFace `transformers`), step by step, then over a short training run (issue 21, point 5).

    pip install -e ".[paper-check]"                       # transformers, for this check only
    python scripts/compare_paper_model.py step            # logits, loss, one AdamW step
    python scripts/compare_paper_model.py curves --steps 4000 --out paper-check

`step` loads our initial weights into a `BertForMaskedLM` built as the released code builds it
(`toy_model.py`: `BertConfig(vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
intermediate_size)`, the rest HuggingFace's defaults), feeds both one batch and compares the
logits, the loss and the parameters after one AdamW step, first with the two released details
that our model does not have switched off, then each on its own:

- `padding`: `BertEmbeddings` makes token 0 its padding row (`pad_token_id` = 0): the row starts
  at zero and its input lookups get no gradient (the tied output row still trains);
- `token_type`: a token-type embedding (type 0 at every position), N(0, 0.02) and trained.

`curves` trains several variants on one data stream (our `Task`, the `reference` preset,
vanilla, α = 1.5, lr 5e-5, seed 42) and evaluates every one with our `Evaluator` (the HF models
converted back into ours, the token-type row folded into the position rows, which is exact), so
that a difference is the model's or the data's, never the evaluation's. `zipf_paper` draws the
data with the released sampler's off-by-one (`task.zipf_law: paper`: rank 1 never drawn,
`np.random.zipf` starts at 1 while the class's ids are indexed from 0; docs/design.md §6, §7).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import click
import torch
import torch.nn.functional as F

from study.metric_names import IWL_HEAD, structural
from study.presets import build_config
from study.science.released_model import (
    ours_into_released,
    released_into_ours,
    released_logits,
    released_model,
    released_optimizer,
)
from study.trial.lane import Lane
from study.trial.model import MaskedLM
from study.trial.seeds import generator
from study.trial.train import make_optimizer, train

CPU = torch.device("cpu")
ICL = structural("paper")


def reference_cfg(steps: int, every: int, seed: int = 42, n_examples: int = 2000):
    return build_config(
        "reference",
        sets={
            "task.zipf_exponent": 1.5,
            "forgetting.kind": "none",
            "train.lr": 5e-5,
            "train.steps": steps,
            "train.seed": seed,
            "eval.every": every,
            "eval.n_examples": n_examples,
        },
    )


# ---- one step -------------------------------------------------------------------------------


def _max_diff(a: MaskedLM, b: MaskedLM) -> tuple[float, str]:
    diffs = {
        name: float((p - b.state_dict()[name]).abs().max()) for name, p in a.state_dict().items()
    }
    name = max(diffs, key=diffs.get)
    return diffs[name], name


def one_step(cfg, token_type: bool, padding: bool) -> dict[str, object]:
    """Both models from our initial weights, one batch: logits, loss, and one AdamW step (no
    dropout, so that the comparison is exact)."""
    lane = Lane.build(cfg, CPU)
    ours = lane.model()
    hf = released_model(cfg, lane.task.vocab.size)
    ours_into_released(ours, hf, token_type, padding)
    if token_type:  # the released init of the token-type rows
        with torch.no_grad():
            hf.bert.embeddings.token_type_embeddings.weight.normal_(0.0, cfg.model.init_std)
    ours.eval(), hf.eval()
    batch = lane.task.sample("train", cfg.train.batch_size, generator(7))
    logits, theirs = ours(batch.inputs), released_logits(hf, batch.inputs)
    loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
    loss_hf = F.cross_entropy(theirs.flatten(0, 1), batch.targets.flatten())
    out: dict[str, object] = {
        "logits_max_abs_diff": float((logits - theirs).detach().abs().max()),
        "loss": float(loss),
        "loss_diff": float(loss - loss_hf),
    }
    opt, opt_hf = make_optimizer(ours, cfg), released_optimizer(hf, cfg)
    for o, objective in ((opt, loss), (opt_hf, loss_hf)):
        o.zero_grad()
        objective.backward()
        o.step()
    back = lane.model()
    released_into_ours(hf, back)
    diff, where = _max_diff(ours, back)
    out |= {"params_after_step_max_abs_diff": diff, "at": where}
    row0 = float((ours.tok_emb.weight[0] - back.tok_emb.weight[0]).abs().max())
    out["token0_row_diff"] = row0
    return out


# ---- curves ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    released: bool = False  # train the HF model (else ours)
    token_type: bool = False
    padding: bool = False
    zipf_paper: bool = False  # the released sampler's off-by-one: rank 1 never drawn


VARIANTS = {
    v.name: v
    for v in (
        Variant("ours"),
        Variant("hf_equivalent", released=True),
        Variant("hf_token_type", released=True, token_type=True),
        Variant("ours_zipf_paper", zipf_paper=True),
        Variant("hf_zipf_paper", released=True, zipf_paper=True),
        Variant("hf_released", released=True, token_type=True, padding=True, zipf_paper=True),
    )
}


def train_variant(cfg, variant: Variant, dropout: bool) -> list[tuple[int, dict[str, float]]]:
    """Train `variant` on one data stream (`task.sample` from the config's seed: every variant
    sees the same batches), evaluated with our Evaluator every `eval.every` steps. Without
    `dropout` both models train deterministically, so that `hf_equivalent` must match `ours`
    to float tolerance; with it the HF model draws its own masks (ours: `ours_trial`)."""
    torch.manual_seed(cfg.train.seed)
    if variant.zipf_paper:
        cfg = cfg.model_copy(update={"task": cfg.task.model_copy(update={"zipf_law": "paper"})})
    lane = Lane.build(cfg, CPU)
    ours = lane.model()
    hf = None
    if variant.released:
        hf = released_model(cfg, lane.task.vocab.size)
        ours_into_released(ours, hf, variant.token_type, variant.padding)
        if variant.token_type:
            with torch.no_grad():
                hf.bert.embeddings.token_type_embeddings.weight.normal_(0.0, cfg.model.init_std)
        opt = released_optimizer(hf, cfg)
        hf.train(dropout)
    else:
        opt = make_optimizer(ours, cfg)
    probe, data = lane.model(), generator(cfg.train.seed)
    curve = []

    def evaluate(step: int) -> None:
        if hf is not None:
            released_into_ours(hf, probe)
        curve.append((step, lane.evaluate(probe if hf is not None else ours)))

    evaluate(0)
    for step in range(1, cfg.train.steps + 1):
        batch = lane.task.sample("train", cfg.train.batch_size, data)
        logits = released_logits(hf, batch.inputs) if hf is not None else ours(batch.inputs)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval.every == 0:
            evaluate(step)
    return curve


@click.group()
def cli():
    """Our model against the released BertForMaskedLM (module docstring)."""
    torch.set_num_threads(1)


@cli.command()
def step():
    """Logits, loss and one AdamW step, with the released details off, then each on."""
    cfg = reference_cfg(steps=1, every=1)
    for token_type, padding in ((False, False), (True, False), (False, True)):
        res = one_step(cfg, token_type, padding)
        click.echo(json.dumps({"token_type": token_type, "padding": padding, **res}))


@cli.command()
@click.option("--steps", type=int, default=4000, show_default=True)
@click.option("--every", type=int, default=100, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--variants", default=",".join(VARIANTS), show_default=True)
@click.option("--dropout/--no-dropout", default=False, show_default=True)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("paper-check")
)
def curves(steps, every, seed, variants, dropout, out):
    """Train each variant on one data stream; structural-ICL peak, its step, and the end.
    `ours_trial` is our own trial as `dpl train` runs it (dropout, its own streams)."""
    cfg = reference_cfg(steps, every, seed)
    out.mkdir(parents=True, exist_ok=True)
    for name in variants.split(","):
        start = time.perf_counter()
        if name == "ours_trial":
            curve = train(cfg, CPU).curve
        else:
            curve = train_variant(cfg, VARIANTS[name], dropout)
        tag = f"{name}_seed{seed}" + ("_dropout" if dropout and name != "ours_trial" else "")
        (out / f"{tag}.json").write_text(json.dumps(curve))
        top_step, top = max(((s, m[ICL]) for s, m in curve), key=lambda x: x[1])
        click.echo(
            f"{tag}: structural ICL peak {top:.3f} at {top_step}, end "
            f"{curve[-1][1][ICL]:.3f}, iwl/head end {curve[-1][1][IWL_HEAD]:.3f} "
            f"({time.perf_counter() - start:.0f} s)",
        )


if __name__ == "__main__":
    cli()
