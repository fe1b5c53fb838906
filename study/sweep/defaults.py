"""A worker's and the boundary sampler's defaults, in a module light enough for the CLI to
import when it starts."""

from typing import Literal

Score = Literal["entropy", "disagreement", "bald"]  # the boundary sampler's acquisitions

HEARTBEAT_S = 10  # seconds between a worker's beats (study.sweep.liveness)
GRACE_BEATS = 4  # beats missed before a trial of another host is lost
MAX_FAILURES = 3  # failed trials in a row before a worker stops; 0: never

# The boundary sampler's acquisition, chosen by a rule written before the replay benchmark's
# final run (README, "Maps you can trust"): BALD with replicates agreed 91.6 ± 0.7% with the
# reference map at 20 trials against disagreement's 87.1 ± 0.8%, and the 2-D synthetic
# benchmark did not reverse that by more than 2 se at 32 trials.
BOUNDARY_SCORE: Score = "bald"
BOUNDARY_REPLICATES = True  # a new seed at a trial's point is a candidate

# Where a pair's contrast lies within SETTLE_WITHIN seed spreads of flipping, the contrast sampler
# gives its point a second seed before proposing new points (study.sweep.proposals.unsettled).
# Until SPREAD_DOF degrees of freedom of replicate pairs measure the spread, it assumes
# CONTRAST_SEED_SD: the root mean square of the eight seed sds measured at the quick map's four
# corners, three seeds each (0.01-0.07 over structural ICL and head IWL), fixed before use.
SETTLE_WITHIN = 2.0
CONTRAST_SEED_SD = 0.04
SPREAD_DOF = 3
