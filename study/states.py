"""What a trial's state is called, one word each, whether it is read from Optuna (a trial) or
from MLflow (its run): `dpl sweep status`, `dpl sweep export`, the worker's log and the
analysis frames all say these."""

from __future__ import annotations

COMPLETE = "complete"
PRUNED = "pruned"
FAILED = "failed"  # failed for a reason of its own: it counts against the budget
# ended before its end for a reason not its own — interrupted, lost with its worker, a machine
# fault: its budget goes back to the queue and its MLflow run is KILLED
RELEASED = "released"
RUNNING = "running"
WAITING = "waiting"

# an MLflow run's status → its trial's state (a pruned run is KILLED with a `pruned` tag)
OF_RUN_STATUS = {
    "FINISHED": COMPLETE,
    "FAILED": FAILED,
    "KILLED": RELEASED,
    "RUNNING": RUNNING,
    "SCHEDULED": RUNNING,
}
