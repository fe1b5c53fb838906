"""Dual Process Lab: the trial (task, model, forgetting, training, evaluation), sweeps and the CLI."""

__version__ = "0.1.0"
