"""Why a trial failed, in the words its `failure_reason` keeps, and whether the machine rather
than the point is to blame: a machine fault gives the trial's budget back and its point runs
again (`worker.conclude`)."""

from __future__ import annotations


class TrialTimeout(RuntimeError):
    """The trial ran past the spec's `trial_timeout_s`."""


def failure_reason(err: BaseException) -> str:
    from study.trial.lane import NonFiniteLoss

    if isinstance(err, TrialTimeout):
        return "timeout"
    if isinstance(err, NonFiniteLoss):
        return f"non-finite loss: {err}"
    return f"{type(err).__name__}: {err}"


def is_machine_fault(err: BaseException) -> bool:
    """Whether an error says the machine failed rather than the point: the GPU ran out of
    memory, or a server (the tracking server, the storage) stopped answering."""
    import requests

    if type(err).__name__ == "OutOfMemoryError" or "CUDA error" in str(err):
        return True
    if isinstance(err, ConnectionError | TimeoutError | requests.ConnectionError):
        return True
    message = str(err)
    return type(err).__name__ == "MlflowException" and (
        "Max retries exceeded" in message or "Connection refused" in message
    )
