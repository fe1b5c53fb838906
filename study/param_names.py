"""The paper's names and symbols for the config keys a study varies: one home for figures,
summaries and run names (`α=1.5 · active · s0`)."""

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
    "forgetting.reset_std": ("reset std σ_reset", None),
    "model.embed_init_std": ("embedding init std", None),
    "model.n_layers": ("layers L", None),
    "model.d_model": ("width", None),
    "task.bursty_ratio": ("bursty share of contexts", None),
    "task.amb_ratio": ("ambiguous label share", None),
    "task.n_items": ("items", None),
    "task.p_bursty": ("bursty share p_B", None),
    "task.p_fresh": ("fresh-class share p_C", None),
    "task.n_classes": ("classes K", None),
    "task.noise": ("within-class noise ε", None),
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
    "forgetting.reset_std": "σ_reset",
    "task.bursty_ratio": "bursty",
    "task.p_bursty": "p_B",
    "task.n_classes": "K",
    "task.noise": "ε",
}


def symbol(key: str) -> str:
    """Short name for titles, legends and run names: 'α', or the last part of the dotted key."""
    return SYMBOLS.get(key, key.rsplit(".", 1)[-1])


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def point_text(point: dict[str, object], sep: str = " · ") -> str:
    """{'task.zipf_exponent': 1.5, 'forgetting.kind': 'active'} → 'α=1.5 · active': a word
    stands alone, a number takes its symbol."""
    return sep.join(
        format_value(v) if isinstance(v, str) else f"{symbol(k)}={format_value(v)}"
        for k, v in point.items()
    )
