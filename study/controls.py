"""What a forgetting run is compared with, and by how much it must differ: one home for both.

A forgetting run re-draws its token embeddings from N(0, reset_std) every k steps; at the
paper's reset_std = 1.0 that is fifty times the init std, and a larger embedding scale alone
moves structural ICL and head IWL (docs/design.md §5). The control isolates forgetting from
that scale: the same config, no forgetting, embeddings drawn once at the reset std. Used by the
findings (`study.science`), by sweeps with `controls: true` and by `analysis.effects`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, overload

from study.config import TrialConfig

if TYPE_CHECKING:
    import polars as pl

# Forgetting beats its control when its final structural ICL is higher, or its head IWL lower,
# by at least this much, in its kind's direction (CONTRASTS). Fixed before the contrast was first
# asserted; twice the standard error of an accuracy near 0.5 on 2,000 sequences is ≈ 0.02, so
# 0.10 is an effect, not noise.
CONTRAST_MARGIN = 0.10


def control_overrides(cfg: TrialConfig) -> dict[str, object]:
    """The dotted-key overrides that turn a forgetting run's config into its control."""
    return {KIND_KEY: "none", "model.embed_init_std": cfg.reset_std}


# A forgetting run read against its control at one seed: it beats it (by the margin, in its
# kind's direction) or falls short. The labels of an effect map, as regimes are of a phase map.
BEATS, SHORT = "beats", "short"
CONTRAST_LABELS = (BEATS, SHORT)
KIND_KEY = "forgetting.kind"  # the dotted key that says which contrast applies


# What each kind of forgetting claims beyond its control (Anand et al. 2025): active forgetting
# keeps structural ICL and loses head IWL, so more ICL or less head IWL both count, as long as
# structural ICL is not lower (a run that loses both has not kept ICL); temporary forgetting is a
# dual process, more ICL *while keeping* head IWL, so losing head IWL does not.
CONTRASTS = {
    "active": "structural ICL higher or head IWL lower, structural ICL not lower",
    "temporary": "structural ICL higher, head IWL not lower",
    # forgetting a row for one step at a time aims at the same dual process (docs/design.md §4)
    "probabilistic": "structural ICL higher, head IWL not lower",
}


# Controls that separate the mechanisms of a forgetting run (docs/design.md §6), each a set of
# dotted-key overrides usable in any sweep's `base.set` or `space`: what is left of the effect
# when only the embedding scale, only a faster embedding drift, or only one reset remains.
MECHANISMS = {
    "frozen": "no forgetting, token embeddings drawn once at the reset std, no gradient",
    "embed_lr": "no forgetting, token embeddings drawn once at the reset std, lr × scale",
    "single_reset": "one reset at step k (temporary forgetting, n_resets 1), the run's Adam clearing",
}


def mechanism_overrides(
    cfg: TrialConfig, mechanism: str, embed_lr_scale: float = 10.0
) -> dict[str, object]:
    """The overrides that turn a forgetting run's config into one of its MECHANISMS controls."""
    if mechanism == "frozen":
        return {**control_overrides(cfg), "train.freeze_embeddings": True}
    if mechanism == "embed_lr":
        return {**control_overrides(cfg), "train.embed_lr_scale": embed_lr_scale}
    if mechanism == "single_reset":
        return {
            "forgetting.kind": "temporary",
            "forgetting.n_resets": 1,
            "forgetting.forget_until": None,
            "forgetting.clear_optimizer": cfg.forgetting.cleared_state,
        }
    raise ValueError(f"mechanism: got {mechanism!r}; allowed: {', '.join(MECHANISMS)}")


def matched_embed_lr_scale(target: float, drifts: dict[float, float]) -> float:
    """The `embed_lr` scale whose embeddings drift `target` (`embed/drift`, a forgetting run's,
    resets' jumps included), from the drifts measured so far at some scales ({scale: drift}, at
    least the control's at 1). Drift grows as a power of the scale: Adam moves a coordinate by
    about lr a step, so with one measurement the power is 1; with two or more it is the slope of
    log drift over log scale through the two nearest the target."""
    if not drifts or min(drifts.values()) <= 0:
        raise ValueError(f"drifts: need at least one positive drift, got {drifts}")
    (s0, d0), *rest = sorted(drifts.items(), key=lambda sd: abs(math.log(sd[1] / target)))
    power = 1.0
    if rest:
        s1, d1 = rest[0]
        if s1 != s0 and d1 != d0:
            power = math.log(d1 / d0) / math.log(s1 / s0)
    if power <= 0:
        raise ValueError(f"drifts: drift does not grow with the scale, got {drifts}")
    return float(s0 * (target / d0) ** (1 / power))


@overload
def beats_control(kind: str, icl_effect: float, iwl_effect: float) -> bool: ...
@overload
def beats_control(kind: str, icl_effect: pl.Expr, iwl_effect: pl.Expr) -> pl.Expr: ...
def beats_control(
    kind: str, icl_effect: float | pl.Expr, iwl_effect: float | pl.Expr
) -> bool | pl.Expr:
    """Run − control differences (structural ICL, head IWL) of a `kind` forgetting run →
    whether forgetting did what it claims (`CONTRASTS`) beyond the embedding scale, each by at
    least CONTRAST_MARGIN. Floats give a bool, polars expressions a column."""
    more_icl, keeps_icl = icl_effect >= CONTRAST_MARGIN, icl_effect > -CONTRAST_MARGIN
    if kind == "active":
        return (more_icl | (-iwl_effect >= CONTRAST_MARGIN)) & keeps_icl
    if kind in ("temporary", "probabilistic"):
        return more_icl & (-iwl_effect < CONTRAST_MARGIN)
    raise ValueError(f"forgetting kind: got {kind!r}; allowed: {', '.join(CONTRASTS)}")


def contrast_distance(kind: str, icl_effect: float, iwl_effect: float) -> float:
    """How far a run − control pair is from its verdict flipping under `beats_control`, in the
    effects' units: ≥ 0 where it beats its control, < 0 where it falls short (ties at the margin
    aside). The boundary sampler compares it with the seed spread to see which points need a
    second seed (`study.sweep.proposals.unsettled`)."""
    m = CONTRAST_MARGIN
    if kind == "active":
        return min(max(icl_effect - m, -iwl_effect - m), icl_effect + m)
    if kind in ("temporary", "probabilistic"):
        return min(icl_effect - m, iwl_effect + m)
    raise ValueError(f"forgetting kind: got {kind!r}; allowed: {', '.join(CONTRASTS)}")
