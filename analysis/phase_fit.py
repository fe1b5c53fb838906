"""The fitted regime map (`PhaseFit`): probabilities on a grid over two axes, their uncertainty,
the boundaries between the most likely regions and where those meet the diagram's edges.
`analysis.phase` fits it (docs/design.md §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

import contourpy
import numpy as np
import polars as pl
from scipy.interpolate import RegularGridInterpolator

from analysis.axes import Axis


@dataclass
class PhaseFit:
    """A fitted regime map over axes `x`, `y`; arrays are indexed [y, x(, regime)]."""

    x: Axis
    y: Axis
    regimes: tuple[str, ...]  # the regimes observed, in REGIMES order
    grid_x: np.ndarray  # (nx,) param units
    grid_y: np.ndarray  # (ny,)
    proba: np.ndarray  # (ny, nx, K) posterior-mean probability
    proba_sd: np.ndarray  # (ny, nx, K) its posterior standard deviation
    agreement: np.ndarray  # (ny, nx) share of posterior draws agreeing on the most likely regime
    points: pl.DataFrame  # the trials fitted: run_id, trial, x, y, regime
    length_scale: float | tuple[float, ...]  # of the RBF basis (per axis), in units of its range
    amplitude: float  # prior variance of the RBF weights
    log_evidence: float
    n_draws: int
    band_level: float = 0.8
    conditions: dict[str, object] = field(default_factory=dict)  # the `at` filters
    pooled_over: tuple[str, ...] = ()  # other swept params the trials were pooled over
    through: str | None = None  # the third axis fitted over, this map its slice (in `conditions`)

    @property
    def n_trials(self) -> int:
        """Trials, not points: a fit over training time has a point per (trial, evaluation)."""
        if "run_id" in self.points.columns:
            return self.points.get_column("run_id").n_unique()
        return self.points.height

    @property
    def most_likely(self) -> np.ndarray:
        """(ny, nx) regime names."""
        names: np.ndarray = np.asarray(self.regimes)[self.proba.argmax(-1)]
        return names

    @property
    def uncertain(self) -> np.ndarray:
        """(ny, nx) bool: the uncertainty band."""
        return self.agreement < self.band_level

    def grid(self) -> pl.DataFrame:
        """Tidy per-grid-point frame: x, y, regime, p_<regime> for each regime, p_max, p_sd_<regime>,
        agreement, uncertain."""
        gx, gy = np.meshgrid(self.grid_x, self.grid_y)
        columns = {
            self.x.key: gx.ravel(),
            self.y.key: gy.ravel(),
            "regime": self.most_likely.ravel(),
        }
        for k, regime in enumerate(self.regimes):
            columns[f"p_{regime}"] = self.proba[..., k].ravel()
        columns["p_max"] = self.proba.max(-1).ravel()
        for k, regime in enumerate(self.regimes):
            columns[f"p_sd_{regime}"] = self.proba_sd[..., k].ravel()
        columns["agreement"] = self.agreement.ravel()
        columns["uncertain"] = self.uncertain.ravel()
        return pl.DataFrame(columns)

    def shares(self) -> dict[str, float]:
        """Each regime's share of the map, where it is the most likely."""
        likely = self.most_likely
        return {r: float((likely == r).mean()) for r in self.regimes}

    def margins(self) -> np.ndarray:
        """(ny, nx, K) p_k − max over j ≠ k of p_j: positive inside regime k's region, zero on
        its edge. One continuous field per regime, all from the one most-likely field, so that
        the regions' outlines coincide along shared edges and meet at triple points."""
        p = self.proba
        return np.stack(
            [p[..., k] - np.delete(p, k, axis=-1).max(-1) for k in range(p.shape[-1])], axis=-1
        )

    def boundaries(self) -> pl.DataFrame:
        """Boundary polylines: pair ('icl|iwl'), segment, x, y (param units, along the line).
        Each region's outline (the zero contour of its margin), cut where the neighbouring
        regime changes — a cut is a triple point, where the next segment starts — and kept on
        the side of the pair's first regime (so each shared edge is drawn once)."""
        margins = self.margins()
        interpolators = [
            RegularGridInterpolator(
                (self.grid_y, self.grid_x), self.proba[..., j], bounds_error=False, fill_value=None
            )
            for j in range(len(self.regimes))
        ]
        frames, segment = [], 0
        for k in range(len(self.regimes)):
            generator = contourpy.contour_generator(self.grid_x, self.grid_y, margins[..., k])
            lines = generator.lines(0.0)
            assert isinstance(lines, list)  # the default line type: one (n, 2) array per line
            for line in lines:
                if len(line) < 2:
                    continue
                p = np.column_stack([f(line[:, ::-1]) for f in interpolators])
                p[:, k] = -np.inf
                neighbour = p.argmax(1)
                cuts = np.flatnonzero(np.diff(neighbour)) + 1
                for run in np.split(np.arange(len(line)), cuts):
                    j = int(neighbour[run[0]])
                    if j < k:
                        continue  # drawn from the other side
                    run = np.append(run, run[-1] + 1) if run[-1] + 1 < len(line) else run
                    frames.append(
                        pl.DataFrame(
                            {
                                "pair": f"{self.regimes[k]}|{self.regimes[j]}",
                                "segment": segment,
                                self.x.key: line[run, 0],
                                self.y.key: line[run, 1],
                            }
                        )
                    )
                    segment += 1
        schema = {
            "pair": pl.String,
            "segment": pl.Int64,
            self.x.key: pl.Float64,
            self.y.key: pl.Float64,
        }
        return pl.concat(frames) if frames else pl.DataFrame(schema=schema)

    def crossings(self, tol: float = 0.02) -> pl.DataFrame:
        """Where each boundary meets the edges of the diagram: pair, edge ('x=low' …), x, y."""
        rows = []
        for pair, segment, xs, ys in self.boundaries().iter_rows():
            del segment
            ux, uy = (
                float(self.x.to_unit(np.array([xs]))[0]),
                float(self.y.to_unit(np.array([ys]))[0]),
            )
            for edge, hit in (
                ("x low", ux < tol),
                ("x high", ux > 1 - tol),
                ("y low", uy < tol),
                ("y high", uy > 1 - tol),
            ):
                if hit:
                    rows.append((pair, edge, xs, ys))
        frame = pl.DataFrame(rows, schema=["pair", "edge", self.x.key, self.y.key], orient="row")
        return (
            frame.unique(["pair", "edge"], keep="first", maintain_order=True)
            if frame.height
            else frame
        )
