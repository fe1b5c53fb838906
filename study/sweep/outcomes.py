"""What the trials of one command did: how many it ended, and why the failed ones failed — so
`dpl sweep run` and `dpl sweep worker` can exit 1 when every trial they ran failed, and name
the reasons whenever some did.

"This run" is the trials this host started since the command began (and, for one worker, only
its own process's): other machines' workers on the same study are not this command's doing.
Trials released for an interrupt or a machine fault gave their budget back and ran again; they
are not outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import optuna

from study.sweep.attrs import REASON, WORKER, counts
from study.sweep.queue import hostname

SHOWN_REASONS = 5  # distinct kinds of failure printed; the rest are counted


@dataclass(frozen=True)
class Outcomes:
    ended: int  # trials this run ended: complete, pruned or failed
    failed: dict[str, list[str]]  # a failure's kind (its reason up to the first ':') → reasons

    @property
    def n_failed(self) -> int:
        return sum(len(v) for v in self.failed.values())

    @property
    def all_failed(self) -> bool:
        return self.ended > 0 and self.n_failed == self.ended

    def text(self) -> str:
        """'3 of 3 trials of this run failed:' and one line per kind, with its first reason."""
        kinds = sorted(self.failed.items(), key=lambda kv: -len(kv[1]))
        lines = [f"{self.n_failed} of {self.ended} trials of this run failed:"]
        for kind, reasons in kinds[:SHOWN_REASONS]:
            example = "" if reasons[0] == kind else f" — e.g. {reasons[0][:300]}"
            lines.append(f"  {kind} × {len(reasons)}{example}")
        if len(kinds) > SHOWN_REASONS:
            lines.append(f"  … and {len(kinds) - SHOWN_REASONS} other kinds of failure")
        return "\n".join(lines)


def outcomes_since(study: optuna.Study, since: datetime, pid: int | None = None) -> Outcomes:
    """The outcomes of the trials this host (process `pid`, if given) started at or after
    `since` (local time, as Optuna stamps `datetime_start`)."""
    here = hostname()
    ended, failed_reasons = 0, dict[str, list[str]]()
    for t in study.get_trials(deepcopy=False):
        worker = t.system_attrs.get(WORKER, {})
        if t.datetime_start is None or t.datetime_start < since or worker.get("host") != here:
            continue
        if pid is not None and worker.get("pid") != pid:
            continue
        if not t.state.is_finished() or not counts(t):
            continue
        ended += 1
        if t.state == optuna.trial.TrialState.FAIL:
            reason = str(t.user_attrs.get(REASON) or "no reason recorded")
            kind = reason.split(":", 1)[0].strip()
            failed_reasons.setdefault(kind, []).append(reason)
    return Outcomes(ended, failed_reasons)
