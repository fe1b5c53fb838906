"""Names on figures and in summaries: the paper's symbols for params, regimes and metrics."""

from __future__ import annotations

from study import controls
from study.config import PROTOCOLS
from study.metric_names import (
    ACC_TAIL,
    ACC_VAL,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    TRANSIENCE,
    structural,
    transience,
)
from study.param_names import PARAMS, SYMBOLS, format_value, symbol

__all__ = ["PARAMS", "SYMBOLS", "symbol", "format_value"]

REGIME_LABELS: dict[str, str] = {
    "dual": "dual process (ICL and IWL)",
    "icl": "structural ICL only",
    "iwl": "head IWL only",
    "none": "neither",
    "uncertain": "uncertain (within the evaluation's noise of a threshold)",
    controls.BEATS: "forgetting beats its control",
    controls.SHORT: "forgetting falls short of its control",
}

METRICS: dict[str, str] = {
    ICL_STRUCTURAL: "structural ICL (held-out tokens)",
    **{structural(p): f"structural ICL, {p} protocol" for p in PROTOCOLS},
    ICL_HEAD: "ICL, head (frequent) tokens",
    IWL_HEAD: "IWL, head (frequent) tokens",
    ICL_TAIL: "ICL, tail (rare) tokens",
    IWL_TAIL: "IWL, tail (rare) tokens",
    ACC_VAL: "val accuracy",
    ACC_TAIL: "tail accuracy",
    TRANSIENCE: "transience (peak − final structural ICL)",
    **{transience(p): f"transience, {p} protocol" for p in PROTOCOLS},
}

# What the metrics measure where a world's evaluation sets differ from the POS task's
# (docs/design.md §9); a world not named here reads as METRICS.
WORLD_METRICS: dict[str, dict[str, str]] = {
    "ar": {
        ICL_STRUCTURAL: "structural ICL (held-out items)",
        ICL_HEAD: "ICL (seen items, the context's labels)",
        IWL_HEAD: "IWL (query absent from the context)",
    },
    "bursty": {
        ICL_STRUCTURAL: "structural ICL (fresh classes)",
        ICL_HEAD: "ICL (trained classes, labels swapped)",
        IWL_HEAD: "IWL (query class absent from the context)",
    },
}

# Short names for legends inside a titled panel.
SHORT: dict[str, str] = {
    ICL_STRUCTURAL: "structural ICL",
    **{structural(p): f"{p} protocol" for p in PROTOCOLS},
    ICL_HEAD: "ICL",
    IWL_HEAD: "IWL",
    ICL_TAIL: "ICL",
    IWL_TAIL: "IWL",
    ACC_VAL: "val",
    ACC_TAIL: "tail",
}


def axis_label(key: str) -> str:
    """'task.zipf_exponent' → 'Zipf exponent α'; with its unit in brackets when it has one."""
    name, unit = PARAMS.get(key, (key, None))
    return f"{name} [{unit}]" if unit else name


def metric_label(metric: str, short: bool = False, world: str = "pos") -> str:
    """A metric's name on a figure, in the words of the `world` its trials ran in."""
    if not short and metric in WORLD_METRICS.get(world, {}):
        return WORLD_METRICS[world][metric]
    return (SHORT if short else METRICS).get(metric, METRICS.get(metric, metric))


def condition_text(conditions: dict[str, object]) -> str:
    """{'task.p_ambiguous': 0.1} → 'ε = 0.1'."""
    return ", ".join(f"{symbol(k)} = {format_value(v)}" for k, v in conditions.items())
