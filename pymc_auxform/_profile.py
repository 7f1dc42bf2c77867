r"""The pilot's search for the corrected mode, by profiling out the group effects (internal).

In the auxiliary coordinates the joint mode search is ill-conditioned exactly where the data are
rich: a data-rich element's noise is pinned to :math:`(z - \mu)/\sigma`, a curved ridge along the
scale :math:`\sigma`. Plain L-BFGS over all coordinates stopped early there (its relative
reduction test), and the information read at that point, hence the chosen :math:`\lambda`, depended
on where it stopped. Profiling removes the ridge:

.. math::

    \hat u(\theta) = \arg\min_u f(u, \theta), \qquad
    \min_\theta f(\hat u(\theta), \theta), \qquad
    \nabla_\theta f(\hat u(\theta), \theta) = \partial_\theta f \text{ (envelope theorem)},

with :math:`u` the elements of the noise blocks whose Hessian is diagonal (conditionally
independent group effects) and :math:`\theta` everything else (a handful of hyperparameters:
L-BFGS for the first search, BFGS from the profile's Hessian for the next ones). The inner
problem is solved by damped Newton steps with the exact Hessian on the blocks: one
Hessian-vector product per block with a vector of ones gives its diagonal and,
when blocks couple element by element (``alpha[j]`` with ``beta[j]``, checked once with random
signs), the ``k x k`` matrix of every element; otherwise preconditioned conjugate gradients. For
Gaussian likelihoods one Newton step is exact, so an evaluation of the profile costs two gradients
and ``k`` products, whatever the number of elements.
"""

from __future__ import annotations

import numpy as np

from scipy.optimize import minimize


class ProfileSearch:
    """Mixin of :class:`~pymc_auxform._pilot.Pilot`: the profile search of its corrected mode.

    Uses the pilot's ``x``, ``where``, ``rng``, ``outer_options``, ``_value_and_grad``,
    ``_hvp`` and counters.
    """

    _elementwise: bool | None = None
    # the last search: its coordinates (mask), its evaluations, and its inverse Hessian
    # estimate (None after L-BFGS)
    _last_search: tuple[np.ndarray, int, np.ndarray | None] | None = None

    def _nested(self, inner: list[str], prior: dict[str, float]):
        """The corrected mode by profiling: a quasi-Newton search over the other coordinates,
        each evaluation solving for the diagonal blocks' elements by Newton steps (conjugate
        gradients on Hessian-vector products, preconditioned by the blocks' exact diagonals). By
        the envelope theorem the profile's gradient is the partial gradient at the inner
        solution.

        The first search is L-BFGS from the initial point. The next ones (the correction
        changed; the mode moves by a Laplace standard deviation or two) are BFGS started from
        the profile's Hessian: by differences at the second search's start (one profile
        evaluation per coordinate), then the last search's estimate. L-BFGS started without
        curvature spent as many evaluations on the second search as on the first (radon_both_3k:
        18 profile evaluations for 24; now 10, the 6 of the differences included)."""
        mask = np.zeros(self.x.size, dtype=bool)
        for noise in inner:
            mask[self.where[noise]] = True
        best = {"x": self.x.copy(), "f": np.inf, "y": None}
        seen = {}  # the search evaluates its start again after the Hessian's differences

        def profile(y):
            key = np.asarray(y, dtype=float).tobytes()
            if key in seen:
                return seen[key]
            x = best["x"].copy()  # warm start from the best inner solution so far
            x[~mask] = y
            x, f, g = self._solve_inner(x, mask, inner, prior)
            if f < best["f"]:
                best.update(x=x, f=f, y=np.array(y, copy=True))
            out = (f, g[~mask]) if np.isfinite(f) else (np.inf, np.zeros(int((~mask).sum())))
            seen[key] = out
            return out

        if mask.all():
            x, f, _ = self._solve_inner(best["x"], mask, inner, prior)
            return x, f
        y0 = self.x[~mask]
        start = self._outer_start(mask, profile, y0)
        if start is None:
            result = minimize(profile, y0, jac=True, method="L-BFGS-B", options=self.outer_options)
            estimate = None
        else:
            result = minimize(
                profile,
                y0,
                jac=True,
                method="BFGS",
                options={"gtol": self.outer_options["gtol"], "maxiter": 200, "hess_inv0": start},
                callback=_relative_reduction(self.outer_options["ftol"]),
            )
            estimate = (result.hess_inv + result.hess_inv.T) / 2
        self._last_search = (mask, result.nfev, estimate)
        if best["y"] is not None and np.array_equal(best["y"], result.x):
            return best["x"], best["f"]  # its inner elements are solved already
        x = best["x"].copy()
        x[~mask] = result.x
        x, f, _ = self._solve_inner(x, mask, inner, prior)
        return x, f

    def _outer_start(self, mask, profile, y0) -> np.ndarray | None:
        """The inverse Hessian a search over the coordinates outside ``mask`` starts from: none
        for the first search; for the second, the profile's by forward differences of its
        gradient at ``y0`` (step 1e-2) if the first search took more than twice the ``n + 1``
        evaluations that costs (eight schools' took 5 for 2 coordinates, and its second search
        2); then the last search's BFGS estimate. None where the estimate is not finite and
        positive definite."""
        if self._last_search is None or not np.array_equal(self._last_search[0], mask):
            return None
        _, evaluations, estimate = self._last_search
        if estimate is not None:
            return estimate if positive_definite(estimate) else None
        if evaluations <= 2 * (y0.size + 1):
            return None
        step = 1e-2
        f0, g0 = profile(y0)
        hessian = np.empty((y0.size, y0.size))
        for j in range(y0.size):
            y = y0.copy()
            y[j] += step
            hessian[:, j] = (profile(y)[1] - g0) / step
        hessian = (hessian + hessian.T) / 2
        if not np.isfinite(f0) or not positive_definite(hessian):
            return None
        inverse = np.linalg.inv(hessian)
        return (inverse + inverse.T) / 2

    def _solve_inner(self, x, mask, inner, prior, max_steps: int = 10):
        """Damped Newton steps on the ``mask`` coordinates (the diagonal blocks) of the
        objective; the curvature is refreshed only after a damped step (for Gaussian likelihoods
        it does not depend on the blocks' values, and the first full step is exact)."""
        f, g = self._value_and_grad(x)
        curvature = None
        for _ in range(max_steps):
            if not np.isfinite(f):
                break
            if curvature is None:
                curvature = self._curvature(x, inner, prior)
            step = self._newton_step(x, g, curvature, inner, prior)
            scaled = np.abs(g[mask]) / np.sqrt(curvature["diagonal"][mask])
            if np.max(scaled) <= 1e-4:
                break
            slope = float(g[mask] @ step[mask])
            if slope >= 0:  # not a descent direction: fall back to a diagonal step
                step = np.where(mask, -g / curvature["diagonal"], 0.0)
                slope = float(g[mask] @ step[mask])
            t = 1.0
            while True:
                trial = x + t * step
                ft, gt = self._value_and_grad(trial)
                if np.isfinite(ft) and ft <= f + 1e-4 * t * slope:
                    break
                t *= 0.5
                if t < 1e-4:
                    return x, f, g  # no descent left along the Newton direction
            if t < 1.0:
                curvature = None
            x, f, g = trial, ft, gt
        return x, f, g

    def _curvature(self, x, inner, prior) -> dict:
        """The objective's Hessian on the diagonal blocks: one product per block with a vector
        of ones on it. When the blocks have one size and couple element by element (``alpha[j]``
        with ``beta[j]`` only: checked once with random signs), that is the whole Hessian there,
        as ``(size, k, k)`` matrices; otherwise its diagonal only (then conjugate gradients)."""
        k = len(inner)
        diagonal = np.ones_like(x)
        columns = []
        for noise in inner:
            v = np.zeros_like(x)
            v[self.where[noise]] = 1.0
            hv = -self._hvp(x, v, central=False)
            self.hvp_calls += 1
            columns.append(hv)
            diagonal[self.where[noise]] = np.maximum(prior[noise] + hv[self.where[noise]], 1e-3)
        sizes = {self.where[n].stop - self.where[n].start for n in inner}
        blocks = None
        if len(sizes) == 1 and self._elementwise is not False:
            (m,) = sizes
            blocks = np.zeros((m, k, k))
            for a, na in enumerate(inner):
                for b in range(k):
                    blocks[:, a, b] = columns[b][self.where[na]]
                blocks[:, a, a] = diagonal[self.where[na]]
            if self._elementwise is None:
                self._elementwise = self._check_elementwise(x, inner, blocks, prior)
                if not self._elementwise:
                    blocks = None
        return {"diagonal": diagonal, "blocks": blocks}

    def _check_elementwise(self, x, inner, blocks, prior) -> bool:
        if len(inner) == 1:
            return True
        signs = self.rng.choice([-1.0, 1.0], size=(blocks.shape[0], len(inner)))
        v = np.zeros_like(x)
        for b, noise in enumerate(inner):
            v[self.where[noise]] = signs[:, b]
        hv = -self._hvp(x, v)
        self.hvp_calls += 1
        predicted = np.einsum("mab,mb->ma", blocks, signs)
        actual = np.stack(
            [hv[self.where[n]] + prior[n] * signs[:, a] for a, n in enumerate(inner)], axis=1
        )
        # ``predicted`` sums k forward-difference columns (each off by up to 3e-7 of its largest
        # element), ``actual`` is central: a floor of 1e-7 could read that error as coupling
        return agree(predicted, actual, floor=1e-5)

    def _newton_step(self, x, g, curvature, inner, prior, max_cg: int = 10) -> np.ndarray:
        """The Newton step on the blocks: exact per element from ``(k, k)`` matrices, else
        preconditioned conjugate gradients on Hessian-vector products."""
        step = np.zeros_like(x)
        if curvature["blocks"] is not None:
            grads = np.stack([g[self.where[n]] for n in inner], axis=1)
            try:
                s = np.linalg.solve(curvature["blocks"], -grads[..., None])[..., 0]
            except np.linalg.LinAlgError:
                s = None
            if s is not None and np.all(np.isfinite(s)):
                for a, noise in enumerate(inner):
                    step[self.where[noise]] = s[:, a]
                return step
        mask = np.zeros(x.size, dtype=bool)
        own = np.zeros_like(x)
        for noise in inner:
            mask[self.where[noise]] = True
            own[self.where[noise]] = prior[noise]
        diagonal = curvature["diagonal"][mask]

        def hess(v):
            full = np.zeros_like(x)
            full[mask] = v
            self.hvp_calls += 1
            return own[mask] * v - self._hvp(x, full, central=False)[mask]

        r = -g[mask]
        s = np.zeros_like(r)
        z = r / diagonal
        d = z.copy()
        rz = float(r @ z)
        tol = 1e-2 * np.sqrt(rz)
        for _ in range(max_cg):
            hd = hess(d)
            dhd = float(d @ hd)
            if dhd <= 0:
                break
            a = rz / dhd
            s += a * d
            r -= a * hd
            z = r / diagonal
            rz_new = float(r @ z)
            if np.sqrt(rz_new) <= tol:
                break
            d = z + (rz_new / rz) * d
            rz = rz_new
        step[mask] = s if s.any() else -g[mask] / diagonal
        return step


def _relative_reduction(ftol: float):
    """A callback that stops a scipy search as L-BFGS-B's ``ftol`` does: once an iteration
    reduces the value by at most ``ftol`` relative to it. BFGS's own test is on the gradient
    alone, and the inner solutions leave noise of about 1e-2 in the profile's gradient: with
    a gradient tolerance it spent a dozen evaluations at the last 1e-8 of the value."""
    last = [None]

    def callback(intermediate_result):
        f = float(intermediate_result.fun)
        if last[0] is not None and last[0] - f <= ftol * max(abs(last[0]), abs(f), 1.0):
            raise StopIteration
        last[0] = f

    return callback


def positive_definite(a: np.ndarray) -> bool:
    """Whether ``a`` (symmetric) is finite and positive definite (it has a Cholesky factor)."""
    if not np.all(np.isfinite(a)):
        return False
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return False
    return True


def agree(a: np.ndarray, b: np.ndarray, floor: float = 1e-7) -> bool:
    """Whether two Hessian-vector estimates agree to the error of their differences (relative
    1e-5 per element, and ``floor`` times the largest for elements near 0: 1e-7 for central
    differences, whose error is at most 6e-10 of the largest): they differ by far more where
    elements couple (the sum of the off-diagonal terms the probes' signs pick)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(np.allclose(a, b, rtol=1e-5, atol=floor * scale + 1e-12))


__all__ = ["ProfileSearch", "agree", "positive_definite"]
