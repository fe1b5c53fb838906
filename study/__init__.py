"""Dual Process Lab: the trial (task, model, forgetting, training, evaluation), sweeps and the CLI.

Layers, top to bottom: an arrow points down only (`tests/test_layers.py` keeps it).

    cli/        the `dpl` commands: the top floor, and the only code that wires analysis in
    sweep/      Optuna studies, workers, the MLflow link               → tracking, trial, core
    science/    the reference table and the findings                   → trial, core
    tracking/   the MLflow contract, writers and readers, credentials  → trial, core
    trial/      task, model, forgetting, training, metrics, devices    → core
    core        the modules below: one home for each rule, no torch, no Optuna, no MLflow

The core (this table is its one list: the layer test checks it against the files and the
README against it):

    config.py        the typed trial config, validated once at the edge
    config_part.py   the base of every config part: frozen, unknown keys refused
    task_config.py   the task part of a config, one per world (`task.kind`), with chance levels
    protocols.py     the held-out protocols' names
    presets.py       the presets (presets/*.yaml) and `--set` overrides → a config
    dotted.py        dotted keys ↔ nested mappings
    errors.py        usage errors (exit 2) and runtime failures (exit 1)
    metric_names.py  every metric's name
    param_names.py   the paper's names and symbols for the swept keys
    features.py      a trial's summary features of its curves
    reset_cycle.py   which evaluations see a forgetting run at a comparable phase
    regimes.py       the regime rule
    controls.py      a forgetting run's control and the contrast it must beat
    phase_model.py   the Bayesian classifier behind phase maps and the boundary sampler
    elliptical_slice.py  exact posterior draws for the phase model
    states.py        what a trial's state is called
"""

__version__ = "0.1.0"
