r"""Automatic choice of the centering :math:`\lambda` of every rewritten variable.

The auxiliary (non-centered) form is not always better. When the data say little about a latent
:math:`z \sim N(\mu, \sigma)`, its posterior is close to its prior and the centered form couples
:math:`z` tightly to :math:`(\mu, \sigma)` (Neal's funnel); when the data pin :math:`z` down, the
auxiliary noise :math:`\epsilon = (z - \mu)/\sigma` is the one that is tightly coupled. In the
Normal-Normal model, with likelihood information :math:`I` about :math:`z`, the partially centered
form with

.. math::

    \lambda^* = \frac{\sigma^2 I}{1 + \sigma^2 I} = \frac{r}{1 + r},
    \qquad r = \frac{\text{likelihood information}}{\text{prior information}},

makes the noise independent of :math:`\mu` a posteriori (Gorinova, Moore & Hoffman, 2020). The
ratio :math:`r` does not depend on the parametrization, and is read off the fully auxiliary model,
where the prior of every noise is fixed:

* likelihood information: minus the diagonal of the Hessian, with respect to the noise (in the
  sampler's coordinates), of every log-density term except the noise's own prior (observed terms,
  and latents left as they were). Holding the other noises fixed, a data point also informs the
  ancestors of its parents, so the information flows through deep and recurrent models;
* prior information: the Fisher information of the standard noise in the same coordinates (1 for
  a standard Normal; for scale families it is the information of :math:`\log\epsilon`, which is
  the analogue on :math:`\log z`), averaged over draws of the noise.

Both :math:`r` and the best :math:`\lambda` depend on latent hyperparameters (:math:`\sigma` is
usually a latent ``tau``): this is the chicken-and-egg problem. We evaluate :math:`r` at a pilot
point that estimates the hyperparameters as the *marginal* (type-II) mode would: the mode, in the
auxiliary coordinates :math:`u`, of the joint log density with a diagonal Laplace correction,

.. math::

    \log p(u) - \tfrac12 \sum_i \log\bigl(1 + c_i D_i(u)^2\bigr),
    \qquad D_i = \partial T(z_i) / \partial u_i,

where ``T`` is the value transform of ``z`` (so :math:`D_i = \sigma_i` for loc-scale families and 1
for scale families on the log scale) and :math:`c_i = r_i / D_i^2` is taken from the previous pilot
(0 at first), iterated to a fixed point (two or three L-BFGS runs, warm-started). In the
Normal-Normal model this is the exact marginal mode of :math:`(\mu, \log\tau)`; its stationary
points are those of the joint density partially centered at :math:`\lambda = r/(1+r)`. Neither
plain joint mode works: the centered one collapses to :math:`\tau = 0` when data are weak, the
auxiliary one overestimates :math:`\tau` (eight schools: :math:`\tau \approx 29`).

Forms that define partial centering (loc-scale, scale, log-affine) get the per-element
:math:`\lambda`, snapped to 0 or 1 within ``snap``; the others (icdf, multivariate, recurrent) get
1 (left centered) when the mean :math:`\lambda` is above 1/2, else 0. Variables with several
noise variables are left at 0 (auxiliary).

Cost: one ``auxify`` of the model, one compiled function (log density, its gradient and the
gradients of the likelihood and noise terms; ``FAST_COMPILE``), a few L-BFGS runs, and per
iteration a Hessian diagonal by central differences of exact gradients (two gradient calls per
element). Measured on a loaded 2-core machine (``benchmarks/results/centering.md``): 0.7-7 s on
eight schools, funnel and the radon-style models, 38 s on the DBN (100 latent elements), i.e.
0.15-0.54 of the whole ``pm.sample`` call with nutpie (compile + sampling), but 3-18 times
nutpie's bare sampling time on these tiny models. Large models pay two gradients per element per
iteration; a sparsity-aware (coloured) difference scheme would cut that.

Should ``"auto"`` be ``auxify``'s default? We think not, yet. ``auxify(model)`` is now a pure,
instant, data-free rewrite whose result a user can predict, which is what the name promises;
"auto" runs an optimization on the data, costs seconds, and can pick a partially centered form
that is slightly slower per gradient than the fixed form it approximates. What it buys is large
where it matters (the mixed model: ~5x the best fixed form; data-rich models: centered where
``auxify`` would hurt). We recommend documenting ``centering="auto"`` as the first thing to try on
models with data-rich groups, and making the report of ``auxify(model)`` point to it.
"""

from __future__ import annotations

import time

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.pytensorf import join_nonshared_inputs
from pytensor.gradient import DisconnectedType, grad
from pytensor.tensor.random.basic import NormalRV
from scipy.optimize import minimize

from pymc_auxform.forms import get_form
from pymc_auxform.forms.base import is_constant_value
from pymc_auxform.report import AuxReport, Left
from pymc_auxform.rewrite import resolve_names, rewrite_model


@dataclass(frozen=True)
class CenteringDecision:
    """The centering chosen for one variable, and the numbers behind it.

    Attributes
    ----------
    name : str
        The original variable.
    lam : float or ndarray
        The chosen :math:`\\lambda` (0 auxiliary, 1 centered), one per element for vector
        variables whose form supports partial centering.
    likelihood_info : ndarray
        Per element, the information the rest of the model (data, and latents left as they were)
        gives about the noise at the pilot point.
    prior_info : float
        The Fisher information of the standard noise (1 for a standard Normal).
    partial : bool
        Whether the form supports partial centering; if not, ``lam`` is 0 or 1.
    distribution : str
        The variable's distribution.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import choose_centering
        from pymc_auxform.reference_models import eight_schools

        d = choose_centering(eight_schools()).decisions["theta"]
        print(d.lam, d.ratio, d.why())
    """

    name: str
    lam: float | np.ndarray
    likelihood_info: np.ndarray
    prior_info: float
    partial: bool = True
    distribution: str = ""

    @property
    def ratio(self) -> np.ndarray:
        """Likelihood information over prior information, per element."""
        return self.likelihood_info / self.prior_info

    def why(self) -> str:
        """One line with the numbers behind the choice."""
        r = np.atleast_1d(self.ratio)
        lam = np.atleast_1d(np.asarray(self.lam, dtype=float))
        rule = "r/(1+r)" if self.partial else "1 if mean r/(1+r) > 1/2 else 0"
        return (
            f"info ratio r = {_span(r)} (likelihood {_span(np.atleast_1d(self.likelihood_info))}"
            f" / prior {self.prior_info:.3g}); lam = {rule} = {_span(lam)}"
        )


@dataclass
class CenteringChoice:
    """What :func:`choose_centering` chose, per variable, with the pilot it used.

    Attributes
    ----------
    decisions : dict of str to CenteringDecision
    iterations : int
        Fixed-point iterations (pilot modes) used.
    converged : bool
        Whether the last iteration changed no :math:`\\lambda` by more than ``tol``.
    seconds : float
        Wall time spent choosing (auxify, compile, modes, Hessians).

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, choose_centering
        from pymc_auxform.reference_models import eight_schools

        choice = choose_centering(eight_schools())
        print(choice)
        aux = auxify(eight_schools(), centering=choice.lam)
    """

    decisions: dict[str, CenteringDecision] = field(default_factory=dict)
    iterations: int = 0
    converged: bool = True
    seconds: float = 0.0

    @property
    def lam(self) -> dict[str, float | np.ndarray]:
        """The chosen :math:`\\lambda` per variable, ready for ``auxify(..., centering=...)``."""
        return {name: d.lam for name, d in self.decisions.items()}

    def annotate(self, report: AuxReport) -> AuxReport:
        """Return a copy of an :class:`~pymc_auxform.report.AuxReport` with the numbers behind
        each choice (``why``) and this choice attached."""
        why = {name: d.why() for name, d in self.decisions.items()}
        listed = {v.name for v in [*report.rewritten, *report.left]}
        centered = [
            Left(n, d.distribution, "kept centered (centering lam = 1)")
            for n, d in self.decisions.items()
            if n not in listed and np.all(np.asarray(d.lam) == 1)
        ]
        return AuxReport(
            [replace(r, why=why.get(r.name, "")) for r in report.rewritten],
            [replace(lft, why=why.get(lft.name, "")) for lft in [*report.left, *centered]],
            centering=self,
        )

    def __str__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        head = (
            f"centering='auto': {len(self.decisions)} variables, {self.iterations} pilot "
            f"iterations ({state}), {self.seconds:.2f} s"
        )
        return "\n".join([head, *(f"  {n}: {d.why()}" for n, d in self.decisions.items())])


def choose_centering(
    model: pm.Model,
    *,
    var_names: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    method: str = "information",
    max_iter: int = 20,
    tol: float = 0.02,
    snap: float = 0.15,
    n_prior_draws: int = 200,
    random_seed: int | None = 0,
    mode: str = "FAST_COMPILE",
) -> CenteringChoice:
    r"""Choose the centering :math:`\lambda` of each variable ``auxify`` would rewrite.

    Per variable and per element, :math:`\lambda = r / (1 + r)` with :math:`r` the ratio of the
    likelihood information to the prior information of its auxiliary noise, evaluated at a pilot
    point found by a fixed-point iteration (see the module docstring for the derivation).

    Parameters
    ----------
    model : pm.Model
        The (centered) model. It is not modified.
    var_names, exclude : str or sequence of str, optional
        As in :func:`~pymc_auxform.auxify`: which variables to consider.
    method : {"information"}
        How to choose. Only the closed-form information ratio is implemented.
    max_iter : int, default 20
        Maximum number of fixed-point iterations (each one is an L-BFGS run, warm-started).
    tol : float, default 0.02
        Stop when no :math:`\lambda` changes by more than this.
    snap : float, default 0.15
        A :math:`\lambda` within ``snap`` of 0 or 1 is set to 0 or 1: near the ends a partial
        form gains little, costs a power per element per gradient, and the pilot's
        :math:`\lambda` is uncertain (on eight schools, :math:`\lambda \le 0.14` for ``theta``
        gave 8 divergences where the auxiliary form gave 2).
    n_prior_draws : int, default 200
        Draws of each noise used to average its prior information (exact for Normal noise).
    random_seed : int, optional
        Seed of the initial point and the noise draws.
    mode : str, default "FAST_COMPILE"
        PyTensor mode of the pilot functions. They are called a few hundred times on small
        inputs, so compiling is most of the cost; ``"FAST_COMPILE"`` was the quickest here.

    Returns
    -------
    CenteringChoice
        ``choice.lam`` is a dict name -> :math:`\lambda` for ``auxify(model, centering=...)``;
        ``print(choice)`` shows the numbers behind each choice.

    Raises
    ------
    TypeError
        If ``model`` is not a ``pm.Model``.
    ValueError
        If ``method`` is unknown or an option is out of range.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        from pymc_auxform import auxify, choose_centering
        from pymc_auxform.reference_models import simulate_hierarchical, varying_intercepts

        counts = np.r_[np.full(3, 200), np.full(30, 1)]  # a few data-rich groups, many poor
        group, y = simulate_hierarchical(33, counts, seed=1)
        model = varying_intercepts(group, y)
        choice = choose_centering(model)
        print(choice)  # alpha: lam near 1 for the rich groups, near 0 for the poor ones
        aux = auxify(model, centering=choice.lam)  # same as auxify(model, centering="auto")
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"choose_centering expects a pymc.Model, got {type(model).__name__}.")
    if method != "information":
        raise ValueError(f"method must be 'information', got {method!r}.")
    if max_iter < 1 or not 0 < tol < 1 or not 0 <= snap < 0.5 or n_prior_draws < 1:
        raise ValueError("need max_iter >= 1, 0 < tol < 1, 0 <= snap < 0.5, n_prior_draws >= 1.")
    start = time.perf_counter()

    wanted = None if var_names is None else resolve_names(model, var_names, "var_names")
    excluded = [] if exclude is None else resolve_names(model, exclude, "exclude")
    aux, rep = rewrite_model(model, var_names=wanted, exclude=excluded)
    rewritten = [r for r in rep.rewritten if len(r.noise) == 1]
    targets = [(r.name, r.noise[0], _supports_partial(model, r.name)) for r in rewritten]
    dists = {r.name: r.distribution for r in rewritten}
    if not targets:
        return CenteringChoice(seconds=time.perf_counter() - start)

    rng = np.random.default_rng(random_seed)
    noises = [noise for _, noise, _ in targets]
    pilot = _Pilot(aux, model, targets, rng, mode)
    prior = pilot.prior_info(n_prior_draws, rng, mode)
    lams = {noise: np.zeros(pilot.shapes[noise]) for noise in noises}
    converged = False
    iteration = 0
    while iteration < max_iter:
        iteration += 1
        info = pilot.move(prior)
        new = {noise: _lam(info[noise] / prior[noise]) for noise in noises}
        change = max(float(np.max(np.abs(new[n] - lams[n]), initial=0)) for n in noises)
        lams = new
        if change <= tol:
            converged = True
            break

    decisions = {}
    for name, noise, partial in targets:
        raw = lams[noise]
        if partial:
            chosen = np.where(raw < snap, 0.0, np.where(raw > 1 - snap, 1.0, raw))
            chosen = float(np.mean(chosen)) if np.ptp(chosen) < 1e-6 else chosen
        else:
            chosen = 1.0 if float(np.mean(raw)) > 0.5 else 0.0
        decisions[name] = CenteringDecision(
            name, chosen, info[noise], prior[noise], partial, dists[name]
        )
    return CenteringChoice(decisions, iteration, converged, time.perf_counter() - start)


# --- the pilot: joint modes of the partially centered models, in auxiliary coordinates --------


class _Pilot:
    r"""The pilot point and the information there, from two compiled functions.

    The pilot is the mode of the auxiliary model's joint density with a diagonal Laplace
    correction, :math:`\log p(u) - \tfrac12 \sum_i \log(1 + c_i D_i(u)^2)`, where
    :math:`D_i = \partial T(z_i)/\partial u_i` and :math:`c_i` is the information ratio per unit
    :math:`D_i^2` at the previous pilot (0 at first): its stationary points are those of the
    joint density partially centered at :math:`\lambda = r/(1+r)`. Hessian diagonals are central
    differences of exact gradients (one gradient per element; no second-derivative graph to
    compile).
    """

    step = 1e-4

    def __init__(self, aux: pm.Model, model: pm.Model, targets, rng, mode):
        self.aux = aux
        point = aux.initial_point(random_seed=int(rng.integers(2**31)))
        values = aux.value_vars
        noise_values = {noise: aux.rvs_to_values[aux[noise]] for _, noise, _ in targets}
        self.shapes = {noise: point[v.name].shape for noise, v in noise_values.items()}
        self.c = {noise: pytensor.shared(np.zeros(s)) for noise, s in self.shapes.items()}
        offsets = np.cumsum([0] + [point[v.name].size for v in values])
        where = {v.name: slice(a, b) for v, a, b in zip(values, offsets, offsets[1:], strict=False)}
        self.where = {noise: where[v.name] for noise, v in noise_values.items()}
        correction, slopes = pt.constant(0.0), []
        for name, noise, partial in targets:
            d = _slope(aux, model, name, noise_values[noise]) if partial else None
            if d is not None:
                correction = correction + 0.5 * pt.sum(pt.log1p(self.c[noise] * d**2))
            slopes.append(pt.ones_like(noise_values[noise]) if d is None else d)
        noise_rvs = [aux[noise] for _, noise, _ in targets]
        rest = [v for v in aux.free_RVs + aux.observed_RVs if v not in noise_rvs]
        likelihood = aux.logp(vars=rest) if rest else pt.constant(0.0)
        own = aux.logp(vars=noise_rvs)
        outs, joined = join_nonshared_inputs(
            point, [aux.logp() - correction, likelihood, own, *slopes], values
        )
        obj, likelihood, own, *slopes = outs
        # One compiled function (compiling dominates the cost on small models).
        self._all = pytensor.function(
            [joined],
            [-obj, -grad(obj, joined), _grad(likelihood, joined), _grad(own, joined), *slopes],
            mode=mode,
            on_unused_input="ignore",
        )
        self.x = np.concatenate([point[v.name].ravel() for v in values]).astype(float)
        self.noises = [noise for _, noise, _ in targets]

    def move(self, prior: dict[str, float]) -> dict[str, np.ndarray]:
        """Move to the corrected mode; return the likelihood information of each noise there
        (and set the correction for the next call)."""
        result = minimize(lambda x: self._all(x)[:2], self.x, jac=True, method="L-BFGS-B")
        if np.all(np.isfinite(result.x)):
            self.x = result.x
        info = {noise: np.zeros(self.shapes[noise]) for noise in self.noises}
        for noise in self.noises:
            flat = info[noise].reshape(-1)
            for j, k in enumerate(range(self.where[noise].start, self.where[noise].stop)):
                flat[j] = -self._diff(self.x, k, 0)[k]
            info[noise] = np.clip(info[noise], 0.0, None)
        for noise, d in zip(self.noises, self._all(self.x)[4:], strict=True):
            c = info[noise] / prior[noise] / np.maximum(np.asarray(d, dtype=float) ** 2, 1e-300)
            self.c[noise].set_value(np.broadcast_to(c, self.shapes[noise]).copy())
        return info

    def prior_info(self, n_draws: int, rng, mode) -> dict[str, float]:
        """Fisher information of each noise in its value coordinates: the mean over draws of
        minus its log density's second derivative. The noise terms are separable, so one
        perturbation of all elements at once gives the whole diagonal."""
        exact = {n: 1.0 for n in self.noises if _is_standard_normal(self.aux, self.aux[n])}
        rvs = [self.aux[n] for n in self.noises if n not in exact]
        if not rvs:
            return exact
        draws = pm.draw(rvs, draws=n_draws, random_seed=int(rng.integers(2**31)), mode=mode)
        to_values = _to_values(self.aux, rvs, mode)
        names = [rv.name for rv in rvs]
        totals = dict.fromkeys(names, 0.0)
        everything = np.zeros_like(self.x, dtype=bool)
        for noise in names:
            everything[self.where[noise]] = True
        for k in range(n_draws):
            x = self.x.copy()
            for noise, u in zip(names, to_values(*(d[k] for d in draws)), strict=True):
                x[self.where[noise]] = np.ravel(u)
            curvature = -self._diff(x, everything, 1)
            for noise in names:
                totals[noise] += float(np.mean(curvature[self.where[noise]])) / n_draws
        return exact | totals

    def _diff(self, x, k, which: int) -> np.ndarray:
        """Central difference of gradient ``which`` (0 likelihood, 1 noise priors) along ``k``."""
        e = np.zeros_like(x)
        e[k] = self.step
        return (self._all(x + e)[2 + which] - self._all(x - e)[2 + which]) / (2 * self.step)


def _is_standard_normal(aux: pm.Model, rv) -> bool:
    """A N(0, 1) noise with no value transform: its information is exactly 1."""
    if not isinstance(rv.owner.op, NormalRV) or aux.rvs_to_transforms.get(rv) is not None:
        return False
    mu, sigma = rv.owner.op.dist_params(rv.owner)
    return is_constant_value(mu, 0) and is_constant_value(sigma, 1)


def _grad(cost, wrt):
    g = grad(cost, wrt, disconnected_inputs="ignore", return_disconnected="zero")
    return pt.zeros_like(wrt) if isinstance(g.type, DisconnectedType) else g


def _to_values(aux: pm.Model, rvs, mode):
    """Compiled map from draws of noise variables to their value (sampler) coordinates."""
    naturals = [pt.as_tensor(rv).type() for rv in rvs]
    outs = []
    for rv, x in zip(rvs, naturals, strict=True):
        transform = aux.rvs_to_transforms.get(rv)
        outs.append(x if transform is None else transform.forward(x, *rv.owner.inputs))
    outs = aux.replace_rvs_by_values(outs)
    return pytensor.function(naturals, outs, mode=mode, on_unused_input="ignore")


def _slope(aux, model, name, noise_value):
    """Elementwise dT(z)/du of the forward map (T: z's value transform, u: noise value)."""
    z = aux[name]
    transform = model.rvs_to_transforms.get(model[name])
    tz = z if transform is None else transform.forward(z)
    (tz,) = aux.replace_rvs_by_values([tz])
    return grad(pt.sum(tz), noise_value, disconnected_inputs="ignore")


def _supports_partial(model: pm.Model, name: str) -> bool:
    form = get_form(model[name].owner.op)
    return bool(form is not None and form.supports_partial)


def _lam(ratio: np.ndarray) -> np.ndarray:
    ratio = np.clip(np.asarray(ratio, dtype=float), 0.0, None)
    return ratio / (1.0 + ratio)


def _span(x: np.ndarray) -> str:
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 1 or np.allclose(x, x[0]):
        return f"{x[0]:.3g}"
    return f"[{x.min():.3g}..{x.max():.3g}] (median {np.median(x):.3g})"


__all__ = ["CenteringChoice", "CenteringDecision", "choose_centering"]
