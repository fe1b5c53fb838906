"""Dual Process Lab analysis: trials to polars frames, regimes, phase diagrams, figures."""
