"""Names on figures and in summaries: the paper's symbols for params, regimes and metrics."""

from __future__ import annotations

# dotted param → (paper's name with symbol, unit or None)
PARAMS: dict[str, tuple[str, str | None]] = {
    "task.zipf_exponent": ("Zipf exponent α", None),
    "task.p_ambiguous": ("ambiguity ε", "share of tokens"),
    "task.n_vocab": ("vocabulary size V", "tokens"),
    "task.n_holdout": ("held-out tokens R", "tokens"),
    "forgetting.forget_every": ("forgetting interval k", "steps"),
    "forgetting.forget_until": ("forgetting stops at step N", None),
    "forgetting.kind": ("forgetting schedule", None),
    "forgetting.reset_std": ("reset std", None),
    "model.embed_init_std": ("embedding init std", None),
    "model.n_layers": ("layers L", None),
    "model.d_model": ("width", None),
    "train.lr": ("learning rate", None),
    "train.steps": ("training steps", None),
    "train.batch_size": ("batch size", None),
    "train.weight_decay": ("weight decay", None),
}
SYMBOLS: dict[str, str] = {
    "task.zipf_exponent": "α",
    "task.p_ambiguous": "ε",
    "task.n_vocab": "V",
    "forgetting.forget_every": "k",
    "forgetting.forget_until": "N",
    "forgetting.kind": "schedule",
}

REGIME_LABELS: dict[str, str] = {
    "dual": "dual process (ICL and IWL)",
    "icl": "structural ICL only",
    "iwl": "head IWL only",
    "none": "neither",
    "uncertain": "uncertain (within the evaluation's noise of a threshold)",
}

METRICS: dict[str, str] = {
    "icl.structural": "structural ICL (held-out tokens)",
    "icl.structural.paper": "structural ICL, paper protocol",
    "icl.structural.init": "structural ICL, init protocol",
    "icl.structural.matched": "structural ICL, matched protocol",
    "icl.head": "ICL, head (frequent) tokens",
    "iwl.head": "IWL, head (frequent) tokens",
    "icl.tail": "ICL, tail (rare) tokens",
    "iwl.tail": "IWL, tail (rare) tokens",
    "acc.val": "val accuracy",
    "acc.tail": "tail accuracy",
    "transience": "transience (peak − final structural ICL)",
    "transience.paper": "transience, paper protocol",
    "transience.init": "transience, init protocol",
    "transience.matched": "transience, matched protocol",
}

# Short names for legends inside a titled panel.
SHORT: dict[str, str] = {
    "icl.structural": "structural ICL",
    "icl.structural.paper": "paper protocol",
    "icl.structural.init": "init protocol",
    "icl.structural.matched": "matched protocol",
    "icl.head": "ICL",
    "iwl.head": "IWL",
    "icl.tail": "ICL",
    "iwl.tail": "IWL",
    "acc.val": "val",
    "acc.tail": "tail",
}


def axis_label(key: str) -> str:
    """'task.zipf_exponent' → 'Zipf exponent α'; with its unit in brackets when it has one."""
    name, unit = PARAMS.get(key, (key, None))
    return f"{name} [{unit}]" if unit else name


def symbol(key: str) -> str:
    """Short name for titles and legends: 'α', or the last part of the dotted key."""
    return SYMBOLS.get(key, key.rsplit(".", 1)[-1])


def metric_label(metric: str, short: bool = False) -> str:
    return (SHORT if short else METRICS).get(metric, METRICS.get(metric, metric))


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def condition_text(conditions: dict[str, object]) -> str:
    """{'task.p_ambiguous': 0.1} → 'ε = 0.1'."""
    return ", ".join(f"{symbol(k)} = {format_value(v)}" for k, v in conditions.items())
