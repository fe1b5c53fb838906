"""The tracking contract: every tag, param prefix, metric prefix, artifact name and MLflow limit
that the writers (a trial's run, a sweep's parent run) and the readers (`analysis.runs` through
`store_sql` / `store_client`) share, named once here and imported by all of them.

A study in MLflow is one parent run (`ROLE` = `ROLE_STUDY`) and one child run per trial
(`PARENT` → the parent's id). Metric names are the trial's own (`study.metric_names`, re-exported
here): the trial logs its curves under them, once each, and its final-only features under
`SUMMARY_PREFIX` (`summary/`); the readers map older stores' dotted names through `RENAMED`.
"""

from __future__ import annotations

from study.metric_names import *  # noqa: F403  (the metric names are part of the contract)

# ---- tags on a trial's run ------------------------------------------------------------------
STUDY = "study"  # the sweep (Optuna study) name; also on the parent
TRIAL_NUMBER = "trial_number"
REPLICATE_GROUP = "replicate_group"  # one id per point of the space, shared by its seeds
REPLICATE = "replicate"
REGIME = "regime"
TRANSIENT = "transient"  # 'true' | 'false'
PROTOCOL = "protocol"  # the held-out protocol behind the headline structural ICL
PRUNED = "pruned"
FAILURE_REASON = "failure_reason"
PARENT = "mlflow.parentRunId"
VERSION = "dpl_version"
GIT_COMMIT = "git_commit"
DEVICE = "device"
SWEPT = "dpl.swept"  # JSON list of the config keys the study varies (the point's params)
CONTROL = (
    "dpl.control"  # on a forgetting run of a sweep with controls: its control's replicate group
)

# ---- tags on a study's parent run -----------------------------------------------------------
ROLE = "dpl.role"
ROLE_STUDY = "study"
ROLE_CONTROL = (
    "control"  # ROLE on a control trial's run (no forgetting, embeddings at the reset std)
)
SPEC_HASH = "spec_hash"
STORAGE = "optuna.storage"  # the Optuna storage URL, password redacted
AXES = "dpl.axes"  # JSON {param: "log" | "linear" | "categorical"}, the varied axes in spec order
NOTE = "mlflow.note.content"  # the run's description in the MLflow UI

# ---- params ---------------------------------------------------------------------------------
SEED_PREFIX = "seed."  # + purpose: the per-purpose seeds derived from train.seed

# ---- metrics --------------------------------------------------------------------------------
# not curves: the readers' histories leave out the features of both generations of names
NOT_CURVES = (SUMMARY_PREFIX, OLD_SUMMARY_PREFIX)  # noqa: F405

# ---- artifacts ------------------------------------------------------------------------------
CONFIG_ARTIFACT = "config.yaml"  # the resolved trial config
CURVES_FIGURE = "learning_curves.png"
SPEC_ARTIFACT = "spec.yaml"  # on the parent: the sweep spec as validated
ANALYSIS_DIR = "analysis"  # on the parent: the phase reports

# ---- MLflow's limits ------------------------------------------------------------------------
PARAMS_PER_BATCH = 100  # log_batch
METRICS_PER_BATCH = 1000  # log_batch
MAX_PARAM_CHARS = 6000  # a param value
MAX_REASON_CHARS = 5000  # the failure_reason tag (MLflow's tag limit is 8,000)

# Tags that become columns of the trials frame, renamed where a name would be ambiguous.
TRIAL_COLUMNS: dict[str, str] = {
    STUDY: "study",
    TRIAL_NUMBER: "trial",
    REPLICATE_GROUP: "replicate_group",
    ROLE: "role",
    CONTROL: "control_group",
    REGIME: "regime",
    TRANSIENT: "transient",
    PROTOCOL: "protocol",
    PRUNED: "pruned",
    FAILURE_REASON: "failure_reason",
    PARENT: "parent_run_id",
    GIT_COMMIT: "git_commit",
    VERSION: "dpl_version",
    DEVICE: "device",
}
