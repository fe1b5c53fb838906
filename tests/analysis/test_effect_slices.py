"""The effect map of a study sampled in 3-D, in slices of its third axis: one fit over α × lr ×
reset std, drawn at chosen reset stds (`analysis.phase.fit_phase_through`,
`analysis.effects_report`), on pairs whose verdict is set here by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from scipy.stats import qmc

from analysis.axes import PhaseError, parse_slice
from analysis.effects import CONTRAST
from analysis.effects_report import beating_share
from analysis.figures import MAX_CELLS, phase_slices
from analysis.figures.labels import symbol
from analysis.phase import fit_phase, fit_phase_through
from analysis.slices import default_slices
from study.cli.main import cli
from study.controls import BEATS, SHORT

X, Y, Z = "task.zipf_exponent", "train.lr", "forgetting.reset_std"
BOUNDS = {X: (0.0, 2.0), Y: (5e-5, 1e-3), Z: (0.02, 1.0)}
LOGS = {X: False, Y: True, Z: True}


def _unit_z(z: np.ndarray) -> np.ndarray:
    return np.log10(z / 0.02) / np.log10(1.0 / 0.02)


@pytest.fixture(scope="module")
def pairs() -> pl.DataFrame:
    """64 Sobol points; forgetting beats its control where the reset std is below its geometric
    middle (0.14) and nowhere else, whatever α and lr: pooled over the reset std, α × lr shows
    no pattern; sliced, it shows all of it."""
    unit = qmc.Sobol(3, seed=0).random(64)
    z = 0.02 * (1.0 / 0.02) ** unit[:, 2]
    return pl.DataFrame(
        {
            X: 2.0 * unit[:, 0],
            Y: 5e-5 * (1e-3 / 5e-5) ** unit[:, 1],
            Z: z,
            "train.seed": 42,
            CONTRAST: np.where(unit[:, 2] < 0.5, BEATS, SHORT),
        }
    )


def test_slices_of_one_3d_fit_recover_what_the_pooled_map_cannot(pairs):
    drawn = {"n_draws": 100, "n_grid": 30}
    fits = fit_phase_through(
        pairs,
        X,
        Y,
        Z,
        [0.02, 0.14, 1.0],
        log_x=False,
        log_y=True,
        log_through=True,
        regime=CONTRAST,
        bounds=BOUNDS,
        drawn=drawn,
    )
    low, high = beating_share(fits[0.02]), beating_share(fits[1.0])
    assert low > 0.9 and high < 0.1, (low, high)
    assert fits[1.0].conditions == {Z: 1.0}
    pooled = fit_phase(
        pairs, X, Y, log_x=False, log_y=True, regime=CONTRAST, bounds=BOUNDS, **drawn
    )
    assert pooled.pooled_over == (Z,) and not fits[0.02].pooled_over
    assert high < beating_share(pooled) < low or pooled.uncertain.mean() > 0.5
    # each trial's signed distance from the slice, in units of the reset std's log range
    offset = fits[0.02].points["through"].to_numpy()
    assert np.allclose(offset, _unit_z(pairs[Z].to_numpy()))


def test_each_trial_is_drawn_once_in_the_panel_of_its_nearest_slice(pairs):
    values = [0.02, 0.14, 1.0]
    fits = fit_phase_through(
        pairs,
        X,
        Y,
        Z,
        values,
        regime=CONTRAST,
        bounds=BOUNDS,
        drawn={"n_draws": 50, "n_grid": 20},
        log_y=True,
        log_through=True,
    )
    fig = phase_slices(fits, title="t")
    panels = [ax for ax in fig.axes if ax.get_title()]
    drawn = [
        sum(len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith("trials:"))
        for ax in panels
    ]
    unit = _unit_z(pairs[Z].to_numpy())
    nearest = np.abs(unit[None] - _unit_z(np.array(values))[:, None]).argmin(0)
    assert drawn == [int((nearest == i).sum()) for i in range(3)]
    assert sum(drawn) == pairs.height
    assert [ax.get_yscale() for ax in panels] == ["log"] * 3


def test_slices_at_a_fixed_param_are_titled_by_the_third_axis(pairs):
    fixed = pairs.with_columns(pl.lit(1000).alias("task.n_vocab"))
    fits = fit_phase_through(
        fixed,
        X,
        Y,
        Z,
        [0.02, 1.0],
        at={"task.n_vocab": 1000},
        regime=CONTRAST,
        bounds=BOUNDS,
        drawn={"n_draws": 20, "n_grid": 10},
    )
    assert fits[1.0].through == Z and fits[1.0].conditions == {"task.n_vocab": 1000, Z: 1.0}
    titles = [ax.get_title() for ax in phase_slices(fits, title="t").axes if ax.get_title()]
    assert [t.split(" = ")[0] for t in titles] == [symbol(Z)] * 2


def test_the_default_slices_are_the_third_axis_at_its_bounds_and_middle(pairs):
    assert default_slices(pairs, (X, Y), BOUNDS, LOGS, MAX_CELLS) == (Z, [0.02, 0.141, 1.0])
    linear = {**LOGS, Z: False}
    assert default_slices(pairs, (X, Y), BOUNDS, linear, MAX_CELLS) == (Z, [0.02, 0.51, 1.0])
    assert (
        default_slices(pairs, (X, Y, Z), BOUNDS, LOGS, MAX_CELLS) is None
    )  # fixed by --at: no third
    assert parse_slice("forgetting.reset_std=0.02,1") == (Z, [0.02, 1.0])
    with pytest.raises(PhaseError, match="KEY=V1,V2"):
        parse_slice("forgetting.reset_std=low")


def test_a_bad_slice_is_a_usage_error_naming_the_option(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = CliRunner().invoke(
        cli, ["analyze", "effects", "nope", "--tracking-uri", uri, "--slice", "reset_std"]
    )
    assert result.exit_code == 2, result.output
    assert "--slice" in result.output and "KEY=V1,V2" in result.output
