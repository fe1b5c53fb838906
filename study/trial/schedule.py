"""When to evaluate: every n steps (the paper's), or log-spaced — dense early, where transience
happens, sparse later (from step total/200 on). Both include step 0 (the untrained model) and the final step."""

from __future__ import annotations

import numpy as np

from study.config import EvalConfig


def eval_steps(cfg: EvalConfig, total_steps: int) -> list[int]:
    if cfg.schedule == "every":
        steps = set(range(0, total_steps + 1, cfg.every))
    else:
        steps = set(
            np.unique(
                np.geomspace(max(1, total_steps // 200), total_steps, cfg.n_points)
                .round()
                .astype(int)
            ).tolist()
        )
        steps.add(0)
    steps.add(total_steps)
    return sorted(steps)
