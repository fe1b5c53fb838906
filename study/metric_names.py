"""The names of a trial's metrics (docs/design.md §3), written once.

The trial writes them, the tracking contract (`study.tracking.schema`) carries them into MLflow,
analysis reads them back. Dotted names group in the MLflow UI.
"""

from __future__ import annotations

from study.config import PROTOCOLS

ACC_VAL = "acc.val"  # exact match on the validation set
LOSS_VAL = "loss.val"
LOSS_TRAIN = "loss.train"  # mean training loss since the previous evaluation
ACC_TAIL = "acc.tail"
DECILE_PREFIX = "acc.decile."  # + the query's training-frequency decile, 0 = most frequent
ICL_HEAD, IWL_HEAD = "icl.head", "iwl.head"
ICL_TAIL, IWL_TAIL = "icl.tail", "iwl.tail"
ICL_STRUCTURAL = "icl.structural"  # the headline, under the trial's `eval.protocol`
TRANSIENCE = "transience"  # peak − final structural ICL
DUAL_SCORE = "dual_score"  # min(final structural ICL, final head IWL)
PEAK, PEAK_STEP, START = "peak", "peak_step", "start"  # statistics of a structural-ICL curve


def decile(d: int) -> str:
    return f"{DECILE_PREFIX}{d}"


def structural(protocol: str | None = None, stat: str | None = None) -> str:
    """Final (or `stat`: 'peak', 'peak_step', 'start') structural ICL under `protocol`; None is the
    headline."""
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    name = ICL_STRUCTURAL if protocol is None else f"{ICL_STRUCTURAL}.{protocol}"
    return f"{name}.{stat}" if stat else name


def transience(protocol: str | None = None) -> str:
    return TRANSIENCE if protocol is None else f"{TRANSIENCE}.{protocol}"


# A metric of a forgetting run beside its control (`study.controls`, `analysis.effects`).
CONTROL_SUFFIX, EFFECT_SUFFIX = ".control", ".effect"  # the control's value; run − control
