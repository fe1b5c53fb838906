"""Names on figures and in summaries: the paper's symbols for params, regimes and metrics."""

from __future__ import annotations

from study.param_names import PARAMS, SYMBOLS, format_value, symbol

__all__ = ["PARAMS", "SYMBOLS", "symbol", "format_value"]

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


def metric_label(metric: str, short: bool = False) -> str:
    return (SHORT if short else METRICS).get(metric, METRICS.get(metric, metric))


def condition_text(conditions: dict[str, object]) -> str:
    """{'task.p_ambiguous': 0.1} → 'ε = 0.1'."""
    return ", ".join(f"{symbol(k)} = {format_value(v)}" for k, v in conditions.items())
