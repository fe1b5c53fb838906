"""Sampled sequences as a polars frame: one row per sequence, one column per position and fact."""

from __future__ import annotations

import polars as pl
import torch

from study.config import TaskConfig
from study.trial.seeds import derive_seed, generator
from study.trial.tasks import N_TARGETS, QUERY, SEQ_LEN, Split, Task


def sample_frame(cfg: TaskConfig, split: Split, n: int, seed: int) -> pl.DataFrame:
    """Columns: token ids per position, the answers, and for each context token its class
    (noun 0 / adjective 1 / held-out -1), frequency rank in its class and ambiguity."""
    task = Task(cfg, seed=derive_seed(seed, "ambiguity"))
    batch = task.sample(split, n, generator(derive_seed(seed, f"sample.{split}")))
    vocab = task.vocab
    # the model's input, position by position (targets are the mask id there)
    columns = {f"pos{i}": batch.inputs[:, i] for i in range(SEQ_LEN)}
    columns["query_position"] = torch.full((n,), QUERY)
    columns |= {f"target{i + 1}": batch.targets[:, i] for i in range(N_TARGETS)}
    # the memorised-role reading; differs from the targets only on role-swapped splits
    columns |= {f"swapped_target{i + 1}": batch.swapped[:, i] for i in range(N_TARGETS)}
    columns["template"] = batch.template
    columns["query_is_after_copula"] = batch.query == batch.after_copula
    for role, ids in (("after_copula", batch.after_copula), ("other", batch.other)):
        ranks = vocab.token_rank(ids)
        columns[f"{role}_id"] = ids
        columns[f"{role}_class"] = vocab.token_class(ids)
        columns[f"{role}_rank"] = ranks
        columns[f"{role}_ambiguous"] = task.is_ambiguous(ids)
    columns["query_rank"] = vocab.token_rank(batch.query)
    return pl.DataFrame(
        {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in columns.items()}
    )
