"""A spec's bounds as the map's: ranges and numeric grids give (low, high); listed strings,
booleans and unvaried axes give none."""

from analysis.spec_bounds import spec_bounds


def test_ranges_and_numeric_grids_give_their_extremes_and_the_rest_nothing():
    space = {
        "task.zipf_exponent": {"kind": "float", "low": 0.0, "high": 2.0},
        "forgetting.forget_until": {"kind": "grid", "values": [100, 0, 1000]},
        "forgetting.kind": {"kind": "grid", "values": ["none", "active"]},
        "train.flag": {"kind": "grid", "values": [True, False]},
        "model.width": {"kind": "int", "low": 64, "high": 64},
    }
    assert spec_bounds(space) == {
        "task.zipf_exponent": (0.0, 2.0),
        "forgetting.forget_until": (0.0, 1000.0),
    }
