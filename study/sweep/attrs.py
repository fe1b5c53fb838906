"""Every name a sweep writes on an Optuna study or trial, and the readers of those attributes.

Optuna keeps two dicts per trial and one per study: *user* attributes (shown in its dashboard)
and *system* attributes (internal). What each name holds is said beside it; a name is written
here once and imported everywhere. The readers below only read a `FrozenTrial`: they need no
storage and no private API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from study.metric_names import OLD_SUMMARY_PREFIX, current, is_metric

# ---- the study's user attributes ----------------------------------------------------------
SPEC = "spec"  # the spec as JSON (what workers rebuild it from)
SPEC_HASH = "spec_hash"  # its hash: a changed spec is refused unless --force
SPEC_FILE = "spec_file"  # the path it was read from
READY = "ready"  # set by the study's creator once its parent run and queue exist
PARENT_RUN = "mlflow_parent_run_id"  # the study's parent run in MLflow

# ---- a trial's user attributes -------------------------------------------------------------
RUN = "mlflow_run_id"  # its run in MLflow
REPLICATE = "replicate"  # r: the trial trains with seed + r
GROUP = "replicate_group"  # identifies its point across replicates (`points.replicate_group`)
CONTROL = "control"  # of a control trial: the config overrides that make it one
CONTROL_GROUP = "control_group"  # of a trial that has a control: the control's GROUP
SEED = "seed"  # the seed it trained with
REGIME = "regime"  # its regime call (`study.regimes`)
TRANSIENT = "transient"  # whether its structural ICL rose and fell
PRUNED = "pruned"  # True on a pruned trial
REASON = "failure_reason"  # why it failed, or why it gave its budget back
PROPOSAL = "proposal"  # why the boundary sampler chose its point
OLD_SUMMARY = "summary"  # before summaries were scalar attributes: one dict of them
# ...and one attribute per summary metric, named by the metric (`icl/structural` …)

# ---- a trial's system attributes -----------------------------------------------------------
FIXED_PARAMS = "fixed_params"  # Optuna's own: the params a queued trial was enqueued with
WORKER = "worker"  # {"host": …, "pid": …} of the worker that claimed it
BEAT = "dpl.beat"  # on a journal file: time.time() of its worker's last beat
PROPOSED = "dpl.proposed"  # {"params": …, "at": time.time()}: a boundary point, published before
# its params are stored, so that a worker proposing at the same moment sees it

# ---- failure reasons (values of REASON) ----------------------------------------------------
INTERRUPTED, CANCELLED, DUPLICATE, LOST = "interrupted", "cancelled", "duplicate", "lost"
MACHINE = "machine: "  # + the error: released for a fault of the machine, not of the point
# reasons that give the budget back ("worker died": what `lost` was called before)
NOT_COUNTED = (INTERRUPTED, CANCELLED, DUPLICATE, LOST, "worker died")


def point_of(trial: FrozenTrial) -> dict[str, Any]:
    """Params of a trial, including a WAITING one whose params are only fixed so far."""
    return {**trial.system_attrs.get(FIXED_PARAMS, {}), **trial.params}


def summary_of(trial: FrozenTrial) -> dict[str, float]:
    """The trial's summary metrics under today's names: the user attrs named by a metric
    (`icl/structural` …). Older studies hold them as `summary.<dotted name>` attrs or, from
    before they were scalars, as one `summary` dict."""
    attrs = trial.user_attrs
    old = {current(k): v for k, v in (attrs.get(OLD_SUMMARY) or {}).items()}
    old |= {current(k): v for k, v in attrs.items() if k.startswith(OLD_SUMMARY_PREFIX)}
    return old | {k: v for k, v in attrs.items() if is_metric(k)}


def gives_back(reason: str | None) -> bool:
    """Whether a failure reason gives the trial's budget back."""
    return reason is not None and (reason in NOT_COUNTED or reason.startswith(MACHINE))


def counts(trial: FrozenTrial) -> bool:
    """Whether the trial uses budget: all do but interrupted, cancelled, duplicate, lost and
    machine-faulted ones."""
    return not (trial.state == TrialState.FAIL and gives_back(trial.user_attrs.get(REASON)))


def is_control(trial: FrozenTrial) -> bool:
    return CONTROL in trial.user_attrs


def key_of(trial: FrozenTrial) -> tuple[str, int] | None:
    """(replicate group, replicate) of a trial with a known point, else None (an empty slot)."""
    if GROUP not in trial.user_attrs:
        return None
    return trial.user_attrs[GROUP], int(trial.user_attrs.get(REPLICATE, 0))


def used(trials: Iterable[FrozenTrial]) -> int:
    """Budget used: counted trials of points (controls are outside the budget)."""
    return sum(counts(t) and not is_control(t) for t in trials)
