"""Optuna studies over trial configs: the spec, the queue that is the budget, samplers, workers
on one machine or many, and the link of every trial to its MLflow run.

Layers, top to bottom: a module imports modules of its own layer or of a layer below it, never
above, and no two modules import each other, directly or round a loop (`tests/test_layers.py`
reads this table and keeps it, lazy imports counted).

    doors:    launch slurm                    — `dpl sweep run/create/worker`, SLURM scripts
    workers:  loop worker failures liveness outcomes status
                                              — a worker's loop (alone or in packs), one trial
                                                from claim to end, heartbeats and lost trials,
                                                what a command's trials did, what a study adds
                                                up to
    studies:  storage samplers queue boundary labels control_trials mlflow_link
                                              — where studies live, the sampler and pruner, the
                                                queue that is the budget, the boundary sampler and its labels,
                                                control trials, the MLflow side of a trial
    points:   points ask_tell proposals       — the grid and replicate groups (no Optuna), what
                                                a trial asks of Optuna and tells it, the
                                                boundary sampler's proposals (no Optuna)
    spec:     spec spec_configs params sampler_specs
                                              — the typed spec and its checks
    names:    attrs defaults optuna_private   — every Optuna attribute name, defaults, and the
                                                one door to Optuna's private API
"""
