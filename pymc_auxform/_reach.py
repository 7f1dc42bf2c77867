r"""The centering kept for the whole posterior reach of a group's scale, not only its mode
(internal).

:math:`\lambda^* = r/(1+r)` makes a partially centered element independent of its location
:math:`\mu` at the pilot's scale :math:`\hat\sigma`. Over the posterior of the scale it keeps a
part of the funnel. In the Normal-Normal model, at :math:`\sigma = \hat\sigma e^{\Delta}` the
ratio is :math:`r e^{2\Delta}`, and the partially centered element :math:`\tilde z = \lambda\mu +
\sigma^{\lambda-1}(z - \mu)` has, given :math:`(\mu, \sigma)` and the data, the width

.. math::

    w_\lambda(\Delta) = \hat\sigma^{\lambda}\, e^{\lambda\Delta}
        \big/ \sqrt{1 + r e^{2\Delta}}, \qquad
    \frac{w_\lambda(\Delta)}{w_\lambda(0)} = e^{\lambda\Delta}
        \sqrt{\frac{1 + r}{1 + r e^{2\Delta}}}.

Below the mode (:math:`\Delta < 0`) a data-poor element's width shrinks like
:math:`e^{\lambda\Delta}`: the neck of a funnel, which :math:`\lambda = 0` does not have. NUTS
adapts its step size to the widths of the bulk and diverges where a width falls far below them.
Where the data leave the scale wide open, its posterior reaches far below its mode (the prior's
mass near 0), and :math:`\lambda^*` chosen at the mode diverged there on some seeds where the
auxiliary form did not (a 40-group logit model: 29 divergent draws on 4 of 6 seeds, at
:math:`\Delta` about -2.2 to -2.9).

So each element keeps the value on the 0.05 grid nearest its :math:`\lambda` (chosen at the
mode) whose width stays at least 3/4 of its width at the mode over the reach
:math:`[\Delta_-, \Delta_+]` of its scale, or 0 (the pure rewrite) where no value does. At 0 the
width only grows below the mode, where the reach is a lower bound of where a chain goes (warm-up
took a chain 6.7 below the mode of that logit model, beyond a reach of 3.5), while above it the
data bound the scale. With a narrow reach (a well identified scale) nothing changes.

**The reach.** The scale of element :math:`i` in the sampler's coordinates is the pilot's slope
:math:`D_i = \partial T(z_i)/\partial u_i` (:math:`\sigma` for a loc-scale form). The Laplace
covariance :math:`H^{-1}` of the hyperparameters :math:`\theta` comes from forward differences of
the profile's gradient (one profile evaluation per hyperparameter), and :math:`g = \partial\,
\overline{\log D} / \partial\theta` from the same evaluations. Along :math:`v = H^{-1} g /
\sqrt{g^T H^{-1} g}` (one Laplace standard deviation of :math:`\overline{\log D}` per unit, the
other hyperparameters following it), the profile at :math:`\pm 2` units measures how fast the
density drops on each side: a weakly identified scale drops slowly below its mode. Each side's
reach is where the profile drops by 5.5 (the one-in-a-thousand tail of a Gaussian, that of a run
of 2 x 500 draws): where the drop at the probe is at least a Gaussian's, a quadratic through it;
where it is slower, a tail that is quadratic at the mode and linear far out, fitted to the last
point and evaluated there again (at most three more points, at most 16 units out), with the
other hyperparameters re-profiled at each by Newton steps that keep the mean log scale fixed.
:math:`\log D_i` is extrapolated linearly from the last point. On the Normal-Normal model this
reach is within 5% of the exact marginal posterior's on well and moderately identified scales;
on a weakly identified one the low end is 12% short (``tests/test_scale_reach.py``).

**An early end.** A longer reach only shrinks each element's set of values that keep the width
(0 is always allowed), so where a known part of the reach (a point within the level on one
side, and the other side's end, or its probe while that side is still searched) already takes
every element to 0 after the snap, the whole reach does too: the side's search ends there, and
the decision says that its reach is a lower bound. The side its probe settles is searched first.
On the weak 40-group logit model its low side then takes 5 profile evaluations for 12 (the
whole choice 90 gradients and 39 products for 105 and 46), the same decisions on all 17 models
of the centering benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from functools import partial

import numpy as np

from pymc_auxform._profile import positive_definite

# the grid of lam (the partial form's levels), and the points of the scale over the reach
_LAMS = np.round(np.arange(0.0, 1.0 + 1e-9, 0.05), 10)
_DELTAS = 25
_CHUNK = 1024  # elements per block of the (elements, lams, deltas) array
# NUTS adapts its step size to the widths of the bulk; where a conditional width falls far below
# them the leapfrog step diverges. An element's width may not fall below this share of its width
# at the pilot's mode anywhere on the reach. With 1/2 (the leapfrog's stability bound for a step
# as wide as the bulk's narrowest width), a chain still stuck in the neck on 1 of 6 seeds of a
# weakly identified 40-group logit model (lam up to 0.3: 133 divergent draws, log tau 6.7 below
# its mode); with 3/4, and 0 where no value keeps it, every group there gets 0 and no draw
# diverges on 6 seeds (benchmarks/results/centering_glm.md, 2026-11-25)
_NARROWEST = 0.75


def lam_for_reach(lam, ratio, low, high, *, narrowest: float = _NARROWEST) -> np.ndarray:
    """Per element, the grid value nearest the chosen ``lam`` (the lower one on a tie) whose
    conditional width stays at least ``narrowest`` times its width at the pilot's scale over the
    log-scale reach ``[low, high]``, or 0 (the pure rewrite) where it is nearer or none does.
    ``ratio``: the information ratio ``r`` at the pilot's scale. Arrays broadcast to ``ratio``'s
    shape; the result has it."""
    ratio = np.asarray(ratio, dtype=float)
    shape = ratio.shape
    r = ratio.ravel()
    lam = np.broadcast_to(np.asarray(lam, dtype=float), shape).ravel()
    low = np.broadcast_to(np.minimum(np.asarray(low, dtype=float), 0.0), shape).ravel()
    high = np.broadcast_to(np.maximum(np.asarray(high, dtype=float), 0.0), shape).ravel()
    out = np.empty(r.size)
    steps = np.linspace(0.0, 1.0, _DELTAS)
    grid = _LAMS[None, :, None]
    for a in range(0, r.size, _CHUNK):
        b = min(a + _CHUNK, r.size)
        delta = (low[a:b, None] + (high - low)[a:b, None] * steps)[:, None, :]
        rr = r[a:b, None, None]
        # width at scale e^delta over the width at the pilot's scale
        width = np.exp(grid * delta) * np.sqrt((1 + rr) / (1 + rr * np.exp(2 * delta)))
        worst = np.min(width, axis=2)  # (m, grid)
        distance = np.abs(_LAMS[None, :] - lam[a:b, None])
        distance = np.where((worst >= narrowest) | (_LAMS[None, :] == 0), distance, np.inf)
        best = np.argmin(distance + 1e-9 * _LAMS[None, :], axis=1)  # nearest, lower on a tie
        out[a:b] = _LAMS[best]
    return out.reshape(shape)


def _tail_reach(drop: float, probe: float, level: float, furthest: float) -> float:
    """How far (in units of the Laplace standard deviation) the profile takes to drop by
    ``level``, from its drop at ``probe`` units. A drop of at least ``probe**2 / 2`` (a
    Gaussian's, or faster): a quadratic through it. A slower one: the tail that grows like a
    quadratic at the mode and a line far out, ``b**2 (sqrt(1 + t**2 / b**2) - 1)``, with ``b``
    solved from the probe (``b**2 = drop**2 / (probe**2 - 2 drop)``; a Gaussian as ``b`` grows).
    At most ``furthest``."""
    if not np.isfinite(drop) or drop <= 0:
        return furthest
    if drop >= probe**2 / 2:
        return min(probe * np.sqrt(level / drop), furthest)
    b2 = drop**2 / (probe**2 - 2 * drop)
    return min(float(np.sqrt(2 * level + level**2 / b2)), furthest)


def _along(hessian, a, gradient) -> np.ndarray:
    """The Newton step of the profile on the hyperparameters that keeps ``a @ theta`` (the mean
    log scale, to first order) fixed: ``-H^-1 (gradient - m a)``, ``m`` from the constraint."""
    h_g = np.linalg.solve(hessian, gradient)
    h_a = np.linalg.solve(hessian, a)
    return -(h_g - (a @ h_g) / (a @ h_a) * h_a)


class _Side:
    """One side of the scale's reach: the profile along ``direction`` (in the hyperparameters
    ``hyper``, from the mode ``x0`` where it is ``f0``), the other hyperparameters re-profiled far
    out by Newton steps that keep the mean log scale (``slopes``) fixed."""

    def __init__(self, solve, x0, f0, hyper, direction, hessian, slopes):
        self.solve, self.x0, self.f0, self.hyper = solve, x0, f0, hyper
        self.direction, self.hessian, self.slopes = direction, hessian, slopes
        self._probed = None  # the profile at the first probe, kept for a second search
        self.enough = False  # whether the last search ended where ``enough`` said so
        self.settled = False  # whether the probe alone gives this side's end

    def reach(self, probe, level, furthest, refine, follow, enough=None):
        """``(x, t, reach)``: the last point evaluated, ``t`` units out, and the reach in units
        estimated from it; None when the profile is not finite at ``probe`` units. A point
        where it is not finite further out ends the search at the last finite one.
        ``enough(x)``, asked at each point within the reach (a drop of at most ``level``),
        ends the search there (``reach`` is then ``t``: a lower bound)."""
        t, found = probe, None
        self.enough = False
        for k in range(1 + refine):  # secant-like steps toward the drop ``level``
            if k == 0 and self._probed is not None:
                x, f, g = self._probed
            else:
                x = self.x0.copy()
                x[self.hyper] += t * self.direction
                x, f, g = self.solve(x)
                if k == 0:
                    self._probed = (x, f, g)
            asked = k and enough is not None and f - self.f0 <= level
            if asked and enough(x):
                self.enough = True  # within the reach already, before any re-profiling
                return (x, t, t)
            for _ in range(follow if k else 0):  # the other hyperparameters, profiled
                if not np.isfinite(f):
                    break
                moved = x.copy()
                moved[self.hyper] += _along(self.hessian, self.slopes, g[self.hyper])
                moved, f2, g2 = self.solve(moved)
                if not f2 < f - 0.01:
                    if f2 < f:
                        x, f, asked = moved, f2, False
                    break
                x, f, g, asked = moved, f2, g2, False
            if not np.isfinite(f):
                return found if found is None else (found[0], found[1], found[1])
            drop = f - self.f0
            reach = _tail_reach(drop, t, level, furthest)
            found = (x, t, reach)
            if k and enough is not None and drop <= level and not asked and enough(x):
                self.enough = True
                return (x, t, t)
            gaussian = drop >= t**2 / 2  # or lighter: the quadratic is close enough
            if gaussian or abs(drop - level) <= 0.5 or reach == t:
                self.settled = self.settled or k == 0
                break
            if k == refine:
                break
            t = reach
        return found


class ScaleReach:
    """Mixin of :class:`~pymc_auxform._pilot.Pilot`: the posterior reach of each target's scale
    around the pilot's mode. Uses the pilot's ``x``, ``where``, ``noises`` and the profile search
    (``_solve_inner``, ``_slopes_at``)."""

    reach_skipped: str = (
        ""  # why the last scale_reach could not estimate the reach, if it could not
    )
    # the noises whose reach ended early, where a known part of it took every lam to 0
    reach_ended: AbstractSet[str] = frozenset()

    def scale_reach(
        self,
        inner: list[str],
        prior: dict[str, float],
        noises: list[str],
        *,
        level: float = 5.5,
        probe: float = 2.0,
        furthest: float = 16.0,
        step: float = 1e-2,
        refine: int = 3,
        follow: int = 3,
        max_hyper: int = 32,
        settled: Callable[[str, np.ndarray, np.ndarray], bool] | None = None,
        floor: Callable[[str, np.ndarray, np.ndarray], bool] | None = None,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per noise of ``noises``, the change of each element's ``log D`` at the low and the high
        end of its reach (arrays of the noise's shape). Empty when there is nothing to estimate
        (no hyperparameter), or when it cannot be (more than ``max_hyper`` hyperparameters, or a
        profile Hessian that is not positive definite: ``reach_skipped`` says which); a noise
        whose scale does not depend on the hyperparameters gets zeros. ``settled(noise, low,
        high)``: whether a reach of ``low, high`` would change nothing; asked with the probes'
        reach made 1.5 times as long, it spares the refinement where the reach cannot matter.
        ``floor(noise, low, high)``: whether a reach of ``low, high`` takes every element to 0;
        asked with known parts of the reach during the refinement, it ends a side's search
        there (``reach_ended`` then lists the noise: its ends are lower bounds)."""
        mask = np.zeros(self.x.size, dtype=bool)
        for noise in inner:
            mask[self.where[noise]] = True
        hyper = np.flatnonzero(~mask)
        self.reach_skipped = ""
        self.reach_ended = set()
        if hyper.size > max_hyper:
            self.reach_skipped = f"{hyper.size} hyperparameters, more than {max_hyper}"
        if hyper.size == 0 or self.reach_skipped or not noises:
            return {}
        solve = partial(self._solve_inner, mask=mask, inner=inner, prior=prior)
        x0, f0, g0 = solve(self.x.copy())
        base = self._log_scales(x0, noises)
        hessian = np.empty((hyper.size, hyper.size))
        slopes = {n: np.empty((hyper.size,)) for n in noises}
        for j, k in enumerate(hyper):  # forward differences of the profile's gradient
            x = x0.copy()
            x[k] += step
            xj, _, gj = solve(x)
            hessian[:, j] = (gj[hyper] - g0[hyper]) / step
            moved = self._log_scales(xj, noises)
            for n in noises:
                slopes[n][j] = np.mean(moved[n] - base[n]) / step
        hessian = (hessian + hessian.T) / 2
        if not positive_definite(hessian):
            self.reach_skipped = "the profile's Hessian is not finite and positive definite"
            return {}
        out = {}
        for n in noises:
            hg = np.linalg.solve(hessian, slopes[n])
            variance = float(slopes[n] @ hg)
            if not variance > 1e-12:
                zero = np.zeros_like(base[n])
                out[n] = (zero, zero)
                continue
            direction = hg / np.sqrt(variance)
            sides = [
                _Side(solve, x0, f0, hyper, sign * direction, hessian, slopes[n])
                for sign in (-1.0, 1.0)
            ]
            zero = np.zeros_like(base[n])
            # per side, how far its scale is known to reach at least (its end once searched)
            within = [zero, zero]
            for more in (0, refine):  # from the probes alone first
                ends, done = [zero, zero], False
                # a side its probe settles first: the other's search then knows its end
                for i in sorted((0, 1), key=lambda i: not sides[i].settled):
                    if done:  # the other side took every lam to 0 already
                        ends[i] = within[i]
                        continue
                    enough = None
                    if more and floor is not None:
                        known = (list(within), i, base[n])
                        enough = partial(self._floored, floor, n, noises, known)
                    found = sides[i].reach(probe, level, furthest, more, follow, enough)
                    if found is None:
                        continue
                    x, t, reach = found
                    change = self._log_scales(x, noises)[n] - base[n]
                    ends[i] = change * reach / t
                    within[i] = ends[i] if more else change * min(1.0, reach / t)
                    done = sides[i].enough
                low, high = np.minimum(*ends), np.maximum(*ends)
                if settled is not None and settled(n, 1.5 * low, 1.5 * high):
                    break
            out[n] = (low, high)
            if done:
                self.reach_ended.add(n)
        return out

    def _floored(self, floor, n, noises, known, x) -> bool:
        """``floor`` asked with side ``i``'s end at ``x`` and the other side's known end."""
        within, i, base = known
        within[i] = self._log_scales(x, noises)[n] - base
        return floor(n, np.minimum(*within), np.maximum(*within))

    def _log_scales(self, x, noises) -> dict[str, np.ndarray]:
        slopes = dict(zip(self.noises, self._slopes_at(x), strict=True))
        with np.errstate(divide="ignore"):
            return {
                n: np.log(np.abs(np.broadcast_to(slopes[n], self.shapes[n]))).astype(float)
                for n in noises
            }


__all__ = ["ScaleReach", "lam_for_reach"]
