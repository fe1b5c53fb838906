"""A worker's defaults, in a module light enough for the CLI to import when it starts."""

HEARTBEAT_S = 10  # seconds between a worker's beats (study.sweep.liveness)
GRACE_BEATS = 4  # beats missed before a trial of another host is lost
MAX_FAILURES = 3  # failed trials in a row before a worker stops; 0: never
