"""The Student-t importance proposal of :func:`~pymc_auxform.estimate_log_marginal`: value
variables flattened to one (draws, points, D) array, and one multivariate t per point.
"""

from __future__ import annotations

import numpy as np

from arviz_stats.base.array import array_stats
from scipy import stats

from pymc_auxform._independence import dim_axis


class Layout:
    """Value variables <-> one (draws, N, D) array (N = 1 without an independent dim)."""

    def __init__(self, model, values, dim):
        self.shapes, self.axes = [], []
        point = model.initial_point()
        for v in values:
            rv = model.values_to_rvs[v]
            self.axes.append(None if dim is None else dim_axis(model, rv.name, dim))
            self.shapes.append(tuple(point[v.name].shape))

    def flatten(self, arrays) -> np.ndarray:
        blocks = []
        for a, axis in zip(arrays, self.axes, strict=True):
            a = a.reshape(a.shape[0], 1, -1) if axis is None else np.moveaxis(a, axis + 1, 1)
            blocks.append(a.reshape(a.shape[0], a.shape[1], -1))
        return np.concatenate(blocks, axis=2)

    def unflatten(self, flat) -> list[np.ndarray]:
        out, start = [], 0
        for shape, axis in zip(self.shapes, self.axes, strict=True):
            size = int(np.prod(shape)) // (1 if axis is None else shape[axis])
            block = flat[:, :, start : start + size]
            start += size
            if axis is None:
                out.append(block.reshape(flat.shape[0], *shape))
            else:
                moved = (shape[axis], *shape[:axis], *shape[axis + 1 :])
                out.append(np.moveaxis(block.reshape(flat.shape[0], *moved), 1, axis + 1))
        return out


def student_t_proposal(flat, n_samples, df, rng):
    """Fit a multivariate t per point to draws (n, N, D); sample (S, N, D), log density (S, N)."""
    n_draws, n_points, d = flat.shape
    mean = flat.mean(axis=0)
    centered = flat - mean
    cov = np.einsum("snd,sne->nde", centered, centered) / (n_draws - 1)
    cov = (
        cov
        + 1e-8 * np.eye(d) * np.maximum(np.trace(cov, axis1=1, axis2=2) / d, 1e-12)[:, None, None]
    )
    draws = np.empty((n_samples, n_points, d))
    log_q = np.empty((n_samples, n_points))
    for i in range(n_points):
        if np.isinf(df):
            dist = stats.multivariate_normal(mean[i], cov[i])
        else:
            # scale so that the proposal has the fitted covariance
            dist = stats.multivariate_t(mean[i], cov[i] * (df - 2) / df, df=df)
        x = dist.rvs(size=n_samples, random_state=rng).reshape(n_samples, d)
        draws[:, i] = x
        log_q[:, i] = np.atleast_1d(dist.logpdf(x))
    return draws, log_q


def pareto_khat(log_w: np.ndarray) -> np.ndarray:
    """Pareto k-hat per column of (S, N) log weights (PSIS, ArviZ); inf where it is undefined."""
    shifted = log_w - np.max(log_w, axis=0)
    shifted = np.where(np.isfinite(shifted), shifted, -1e300)
    _, k = array_stats.psislw(-shifted.T, axis=-1)  # it takes -log w (the LOO convention)
    k = np.atleast_1d(np.asarray(k, dtype=float))
    return np.where(np.isfinite(k), k, np.inf)


__all__ = ["Layout", "pareto_khat", "student_t_proposal"]
