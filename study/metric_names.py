"""The names of a trial's metrics (docs/design.md §3), written once: the trial writes them, the
tracking contract (`study.tracking.schema`) carries them into MLflow, analysis reads them back.

Names are grouped with `/`, because MLflow sections a run's charts by the prefix before it:
`loss/`, `acc/`, `icl/`, `iwl/`, `holdout/` and `embed/` hold curves (a point per evaluation), `summary/`
the final-only features (one point, at the final step). A curve's final value has no name of its
own: it is the curve's point at `FINAL_STEP`. No name is also a section (`x` beside `x/y`): the
file store keeps sections as folders.

The headline names (`HEADLINES`: `icl/structural`, `summary/transience`, …) are views: the same
number as the name under the trial's own `eval.protocol`. The trial holds both in memory; the
writer stores only the protocol's, and the readers rebuild the headline from the `protocol` tag.

`RENAMED` maps the dotted names of stores written before (`icl.structural`,
`summary.acc.decile.8`, …) to these; readers and sweep specs apply it through `current`.
"""

from __future__ import annotations

import difflib

from study.protocols import PROTOCOLS

SUMMARY_PREFIX = "summary/"  # the section of final-only features

LOSS_TRAIN = "loss/train"  # mean training loss since the previous evaluation
LOSS_VAL = "loss/val"
ACC_VAL = "acc/val"  # exact match on the validation set
ACC_TAIL = "acc/tail"
DECILE_PREFIX = "acc/decile_"  # + the query's training-frequency decile, 0 = most frequent
N_DECILES = 10
ICL_HEAD, IWL_HEAD = "icl/head", "iwl/head"
ICL_TAIL, IWL_TAIL = "icl/tail", "iwl/tail"
ICL_STRUCTURAL = "icl/structural"  # the headline: structural ICL under the trial's `eval.protocol`
NORM_RATIO, BIAS_GAP = "holdout/norm_ratio", "holdout/bias_gap"  # held-out diagnostics (§2)
SPREAD_RATIO = "holdout/spread_ratio"  # held-out rows' spread over the content rows': collapse
EMBED_DRIFT = "embed/drift"  # content rows' mean distance per coordinate from their initial draw

TRANSIENCE = f"{SUMMARY_PREFIX}transience"  # peak − final structural ICL
DUAL_SCORE = f"{SUMMARY_PREFIX}dual_score"  # min(final structural ICL, final head IWL)
FINAL_STEP = f"{SUMMARY_PREFIX}final_step"  # the last aligned evaluation: the curves' final point
PEAK, PEAK_STEP, START = "peak", "peak_step", "start"  # statistics of a structural-ICL curve
STATS = (START, PEAK, PEAK_STEP)


def decile(d: int) -> str:
    return f"{DECILE_PREFIX}{d}"


def structural(protocol: str | None = None, stat: str | None = None) -> str:
    """Structural ICL under `protocol` (None: the headline), `icl/structural_matched`; with `stat`
    ('peak', 'peak_step', 'start') the feature of that curve, `summary/structural_matched_peak`."""
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    name = "structural" if protocol is None else f"structural_{protocol}"
    return f"icl/{name}" if stat is None else f"{SUMMARY_PREFIX}{name}_{stat}"


def transience(protocol: str | None = None) -> str:
    return TRANSIENCE if protocol is None else f"{TRANSIENCE}_{protocol}"


def headline_of(protocol: str) -> dict[str, str]:
    """{headline name: the name under `protocol` that it shows}."""
    return {structural(None, stat): structural(protocol, stat) for stat in (None, *STATS)} | {
        transience(None): transience(protocol)
    }


# What a run stores: its curves and its final-only features, each quantity under one name.
CURVES: tuple[str, ...] = (
    LOSS_TRAIN,
    LOSS_VAL,
    ACC_VAL,
    ACC_TAIL,
    *(decile(d) for d in range(N_DECILES)),
    ICL_HEAD,
    IWL_HEAD,
    ICL_TAIL,
    IWL_TAIL,
    *(structural(p) for p in PROTOCOLS),
    NORM_RATIO,
    BIAS_GAP,
    SPREAD_RATIO,
    EMBED_DRIFT,
)
FEATURES: tuple[str, ...] = (
    *(structural(p, stat) for p in PROTOCOLS for stat in STATS),
    *(transience(p) for p in PROTOCOLS),
    DUAL_SCORE,
    FINAL_STEP,
)
HEADLINES: tuple[str, ...] = tuple(headline_of(PROTOCOLS[0]))
_ALL = frozenset((*CURVES, *FEATURES, *HEADLINES))


def is_metric(name: str) -> bool:
    """A name of this contract (a curve, a feature or a headline)."""
    return name in _ALL


# What a spec may name: an objective reads a trial's summary (final curves, features and
# headlines), a pruner the metrics of each evaluation (the curves and the headline curve).
SUMMARIZED: frozenset[str] = _ALL
EVALUATED: frozenset[str] = frozenset((*CURVES, ICL_STRUCTURAL))


def closest(name: str, names: frozenset[str], n: int = 3) -> list[str]:
    """The names of `names` nearest to a misspelt `name`, older spellings matched too."""
    spelled = {old: new for old, new in RENAMED.items() if new in names} | {k: k for k in names}
    near = difflib.get_close_matches(name, list(spelled), n=2 * n, cutoff=0.5)
    return list(dict.fromkeys(spelled[k] for k in near))[:n]


# What a value measures decides how finely it is stored (`study.tracking.logger.rounded`).
_STEPS = frozenset({FINAL_STEP, *(structural(p, PEAK_STEP) for p in (None, *PROTOCOLS))})
_REALS = frozenset({LOSS_TRAIN, LOSS_VAL, NORM_RATIO, BIAS_GAP, SPREAD_RATIO, EMBED_DRIFT})


def kind(name: str) -> str | None:
    """'share' (k of n evaluation sequences, or a difference or minimum of such), 'real' (a
    loss or diagnostic), 'step', or None for a name outside the contract."""
    if not is_metric(name):
        return None
    return "step" if name in _STEPS else "real" if name in _REALS else "share"


# ---- the dotted names of older stores ------------------------------------------------------
OLD_SUMMARY_PREFIX = "summary."  # old: every final value and feature, logged at the final step
_OLD_CURVES: dict[str, str] = {
    "loss.train": LOSS_TRAIN,
    "loss.val": LOSS_VAL,
    "acc.val": ACC_VAL,
    "acc.tail": ACC_TAIL,
    **{f"acc.decile.{d}": decile(d) for d in range(N_DECILES)},
    "icl.head": ICL_HEAD,
    "iwl.head": IWL_HEAD,
    "icl.tail": ICL_TAIL,
    "iwl.tail": IWL_TAIL,
    "holdout.norm_ratio": NORM_RATIO,
    "holdout.bias_gap": BIAS_GAP,
    **{"icl.structural" + (f".{p}" if p else ""): structural(p) for p in (None, *PROTOCOLS)},
}
_OLD_FEATURES: dict[str, str] = {
    "dual_score": DUAL_SCORE,
    **{"transience" + (f".{p}" if p else ""): transience(p) for p in (None, *PROTOCOLS)},
    **{
        "icl.structural" + (f".{p}" if p else "") + f".{stat}": structural(p, stat)
        for p in (None, *PROTOCOLS)
        for stat in STATS
    },
}
# old name → new name; `summary.<curve>` was the curve's final value, now its point at FINAL_STEP
RENAMED: dict[str, str] = {
    **_OLD_CURVES,
    **_OLD_FEATURES,
    **{OLD_SUMMARY_PREFIX + old: new for old, new in {**_OLD_CURVES, **_OLD_FEATURES}.items()},
}


def current(name: str) -> str:
    """The name of today for a name as an older store, study or spec wrote it."""
    return RENAMED.get(name, name)


# A metric of a forgetting run beside its control (`study.controls`, `analysis.effects`).
CONTROL_SUFFIX, EFFECT_SUFFIX = ".control", ".effect"  # the control's value; run − control
