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
  sampler's coordinates), of every log-density term except the noise's own prior. Holding the
  other noises fixed, a data point also informs the ancestors of its parents, so the information
  flows through deep and recurrent models;
* prior information: the Fisher information of the standard noise in the same coordinates (1 for
  a standard Normal; for scale families it is the information of :math:`\log\epsilon`).

Both depend on latent hyperparameters (:math:`\sigma` is usually a latent ``tau``). We evaluate
:math:`r` at a pilot point that estimates them as the *marginal* (type-II) mode would: the mode, in
the auxiliary coordinates :math:`u`, of the joint log density with a diagonal Laplace correction
:math:`\log p(u) - \tfrac12 \sum_i \log(1 + c_i D_i(u)^2)`, :math:`D_i = \partial T(z_i)/\partial
u_i` (``T`` the value transform of ``z``), :math:`c_i = r_i / D_i^2` from the previous pilot (0 at
first), iterated to a fixed point (two or three warm-started searches). In the Normal-Normal
model this is the exact marginal mode of :math:`(\mu, \log\tau)`. Each search profiles the group
effects out (:mod:`pymc_auxform._profile`: L-BFGS over the hyperparameters, then BFGS from the
profile's Hessian in the next searches; exact Newton steps on the conditionally independent
elements); a plain L-BFGS over all coordinates stopped early on
data-rich models, and the choice then depended on where it stopped.

**Cost that does not grow with the model.** The diagonal is read from Hessian-vector products,
one pass per *block* (the elements of one noise variable) with random signs: exact (to the error
of the differences they are taken as, below 1e-9) where the block's Hessian is diagonal
(conditionally independent group effects), unbiased otherwise; two passes that agree prove a
block diagonal. Blocks that are not (recurrent chains, multivariate latents) get one
:math:`\lambda` from their mean information. With many blocks, they share passes (at most
``2 * colours`` per pilot iteration). The rest is one rewrite, one compiled function (Python
thunks: the density, its gradient and the likelihood's, whose differences along a vector are the
products) and the searches: an evaluation of the profile costs two gradients and one product
(one more gradient) per block, whatever the number of elements. Building the function is most
of the choice on small models; it skips what it does not need (:mod:`pymc_auxform._logp_terms`:
the log density without PyMC's intermediate representation where a distribution has its own;
:func:`~pymc_auxform._linker.lean_function`: no copy of the graph and no ``Function`` around the
thunks; the initial point compiled the same way).

**Root variables.** A root variable whose parameters are constants (``mu ~ N(0, 5)``) carries no
information to choose from: in an elementwise affine form (loc-scale, scale, log-affine) every
:math:`\lambda` gives an affine map of it in the sampler's space, which NUTS's adapted diagonal
mass matrix undoes. It is kept as written (:math:`\lambda = 1`; the choice never puts an
intermediate :math:`\lambda` on a root, which hurt on eight schools). Standardized (:math:`\lambda
= 0`, as in the pure rewrite) it cost a Deterministic per root, compiled and evaluated at every
``pm.sample`` call, and for a root the data pin down (posterior scale far below the prior's) it
made warm-up start farther from the posterior's scale: kept as written, ESS/s was 1.06-1.30x on
four models of the centering suite, ESS per gradient 1.03-1.19x (ad hoc, 6 seeds each). On
eight schools "auto" is then the hand-written non-centered model. Roots with constant parameters but coupled elements (a random walk, a
multivariate normal) are decided by the pilot like any other variable: their form changes more
than a scale.

**No data below.** When no target's noise reaches any density but its own prior (no
observation, potential or other variable's density below it, the funnel's ``x``), every
:math:`r` is exactly 0 whatever the pilot point: they get :math:`\lambda = 0` and no pilot is
built. When some target has data, all of them go through the pilot as before (its point, probes
and random draws depend on the whole set). When every :math:`\lambda` is 0, ``auxify`` returns
the fully auxiliary model the pilot was built on (the pure rewrite) instead of rewriting again.

**Rules.** Forms that define partial centering (loc-scale, scale, log-affine) get the per-element
:math:`\lambda`, snapped to 0 or 1 within ``snap`` and rounded to multiples of 0.05 in between
(the partial form then computes a power per level, not per element); the others (icdf,
multivariate, recurrent) get 1 (kept centered) when the mean :math:`\lambda` is above 1/2, else
0. Variables with several noise variables, or whose noise has latent parameters, are left at 0
(auxiliary). If the pilot fails (non-finite density or information), a warning says so and the
variables it decides are kept as written.

**Over the scale's posterior, not only at its mode** (:mod:`pymc_auxform._reach`). A partly
centered element keeps a part of the funnel: given the scale :math:`\sigma = \hat\sigma
e^{\Delta}`, its width is :math:`e^{\lambda\Delta}\sqrt{(1 + r)/(1 + r e^{2\Delta})}` times its
width at the pilot's mode (Normal-Normal), which for a data-poor element shrinks like
:math:`e^{\lambda\Delta}` where the scale is small. Where the data leave the scale wide open,
its posterior reaches far below its mode, and :math:`\lambda` chosen at the mode diverged on
some seeds where the auxiliary form did not. So where a variable keeps some centering, the
pilot measures how far its scale reaches (the Laplace covariance of the hyperparameters from its
profile, then the profile itself along the scale's direction to a drop of 5.5 nats: the
one-in-a-thousand tail of a Gaussian), and each element keeps the value on the grid nearest its
:math:`\lambda` whose width stays at least 3/4 of its width at the mode over that reach. On a
well identified scale nothing changes; where no value keeps the width, the element gets 0.
The cost is a few profile evaluations per such variable (one per hyperparameter, then 2 to 26
along the scale: more only where its posterior is far from Gaussian), whatever the number of
elements.

**Why "auto" is auxify's default** (``benchmarks/results/centering.md``: radon-style suite, eight
schools, funnel, DBN, informative, mixed and two held-out models; nutpie, 2 x 500 draws, medians
of 18 seeds, each model in a fresh process, the choice timed once per seed, 2026-12-08 00:25
UTC). Against the model as written, the question a user asks first, it is 3.7x in ESS/s on
geometric mean, the time of ``auxify(model)`` included, and 0.97x at worst, where the pure
rewrite is 0.18x at worst (informative: 5.4 times slower than the model as written). Per
gradient it is 1.63x the better fixed form on geometric mean; in ESS/s, 1.39x. Where the answer
is the auxiliary form anyway (eight schools, the funnel, the DBN, a held-out radon model) it
gains nothing per gradient (0.92-1.00x) and pays for the choice: 0.86-1.01x in ESS/s there
(0.91-1.11x paired per seed; the DBN 0.86x and the held-out model 0.89x). ``auxify(model)``
takes 0.01-0.61 s, 0.01-0.11 of a whole ``pm.sample`` call with nutpie and its compiled code
cached (1.2-8.6 s there).
``centering=0.0`` is the pure, instant, data-free rewrite, for deep, recurrent and weakly
informed hierarchical models where the auxiliary form is known to be right.
"""

from __future__ import annotations

import functools
import gc
import time
import warnings

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import pymc as pm
import pytensor

from pytensor.compile.mode import Mode
from pytensor.graph.basic import Constant
from pytensor.graph.traversal import ancestors
from threadpoolctl import ThreadpoolController

from pymc_auxform._pilot import Pilot, PilotFailed, noise_information
from pymc_auxform._reach import lam_for_reach
from pymc_auxform.centering_result import CenteringChoice, CenteringDecision
from pymc_auxform.forms import get_form
from pymc_auxform.forms.checks import strip_guard
from pymc_auxform.reporting import AuxReport
from pymc_auxform.rewrite import resolve_names, rewrite_model


def choose_centering(
    model: pm.Model | None = None,
    *,
    var_names: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    method: str = "information",
    max_iter: int = 10,
    tol: float = 0.02,
    snap: float = 0.15,
    n_prior_draws: int = 200,
    colours: int = 4,
    random_seed: int | None = 0,
    mode: str | Mode | None = None,
) -> CenteringChoice:
    r"""Choose the centering :math:`\lambda` of each variable ``auxify`` would rewrite.

    Per variable and per element, :math:`\lambda = r / (1 + r)` with :math:`r` the ratio of the
    likelihood information to the prior information of its auxiliary noise, evaluated at a pilot
    point found by a fixed-point iteration (see the module docstring for the derivation), then
    kept over the posterior reach of the variable's scale: lowered where the scale is weakly
    identified, so that no element keeps a funnel's neck where the scale is small. Root
    variables with constant parameters are kept as written (:math:`\lambda = 1`).

    Parameters
    ----------
    model : pm.Model, optional
        The (centered) model. It is not modified. Taken from the ``with model:`` context if
        omitted.
    var_names, exclude : str or sequence of str, optional
        As in :func:`~pymc_auxform.auxify`: which variables to consider.
    method : {"information"}
        How to choose. Only the closed-form information ratio is implemented.
    max_iter : int, default 10
        Maximum number of fixed-point iterations (each one is a search, warm-started).
    tol : float, default 0.02
        Stop when no :math:`\lambda` changes by more than this, or when no decision (after
        ``snap`` and the 0.05 grid) changes.
    snap : float, default 0.15
        A :math:`\lambda` within ``snap`` of 0 or 1 is set to 0 or 1: near the ends a partial
        form gains little. The others are rounded to multiples of 0.05.
    n_prior_draws : int, default 200
        Draws of each non-Normal noise used to average its prior information.
    colours : int, default 4
        At most this many groups of noise variables get their own Hessian-vector products; the
        cost per pilot iteration is at most ``2 * colours`` products whatever the model's size.
    random_seed : int, optional
        Seed of the initial point, the probes and the noise draws.
    mode : str or pytensor Mode, optional
        PyTensor mode of the pilot's function. By default Python thunks (C and Numba code
        evaluate faster but took 10-40 s to compile cold here; with Numba's cache warm the
        choice still took 0.68-0.82 s on a model where it now takes about 0.2 s) with only
        duplicate merging, and elementwise nodes calling NumPy directly, never PyTensor's
        per-element scalar code, linked without ``pytensor.function`` around them (half the
        time to compile; ``pymc_auxform._linker``). ``mode=pymc_auxform._linker.pilot_mode()``
        computes the same through ``pytensor.function``.

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

    Warns
    -----
    UserWarning
        If the pilot fails (non-finite density or information); every variable is then kept as
        written (:math:`\lambda = 1`). Also if :math:`\lambda` has not settled within ``tol``
        after ``max_iter`` iterations (``choice.converged`` is then False).

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
    choice, _ = _choose_with_model(
        model,
        var_names=var_names,
        exclude=exclude,
        method=method,
        max_iter=max_iter,
        tol=tol,
        snap=snap,
        n_prior_draws=n_prior_draws,
        colours=colours,
        random_seed=random_seed,
        mode=mode,
    )
    return choice


def _choose_with_model(
    model: pm.Model | None = None,
    *,
    var_names: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    method: str = "information",
    max_iter: int = 10,
    tol: float = 0.02,
    snap: float = 0.15,
    n_prior_draws: int = 200,
    colours: int = 4,
    random_seed: int | None = 0,
    mode: str | Mode | None = None,
) -> tuple[CenteringChoice, tuple[pm.Model, AuxReport]]:
    """:func:`choose_centering` (same arguments, same defaults), and the fully auxiliary model
    the choice was read off, with its report: ``rewrite_model(model, var_names=..., exclude=...)``
    with every ``lam`` 0. ``auxify`` returns that model when every chosen ``lam`` is 0 rather
    than rewriting the model a second time."""
    if model is None:
        model = pm.modelcontext(None)
    if not isinstance(model, pm.Model):
        raise TypeError(f"choose_centering expects a pymc.Model, got {type(model).__name__}.")
    if method != "information":
        raise ValueError(f"method must be 'information', got {method!r}.")
    if max_iter < 1 or not 0 < tol < 1 or not 0 <= snap <= 0.5 or n_prior_draws < 1:
        raise ValueError("need max_iter >= 1, 0 < tol < 1, 0 <= snap <= 0.5, n_prior_draws >= 1.")
    if colours < 1:
        raise ValueError(f"colours must be >= 1, got {colours}.")
    start = time.perf_counter()
    wanted = None if var_names is None else resolve_names(model, var_names, "var_names")
    excluded = [] if exclude is None else resolve_names(model, exclude, "exclude")
    # Creation tracebacks of graph nodes cost more than the gradients themselves here; BLAS
    # threads cost more than they save on the pilot's small products (L-BFGS's own updates took
    # 3 ms each with two threads on a busy two-core machine, 15 us with one); the garbage
    # collector's passes over the whole heap, set off by the many graph nodes built, were about a
    # tenth of the choice on the T=10 DBN (see _collector_paused).
    with (
        pytensor.config.change_flags(traceback__limit=0),
        _blas_controller().limit(limits=1, user_api="blas"),
        _collector_paused(),
    ):
        return _choose(
            model,
            wanted,
            excluded,
            start,
            mode,
            colours,
            max_iter,
            tol,
            snap,
            n_prior_draws,
            random_seed,
        )


_GRID = 0.05  # intermediate lam are multiples of this


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The BLAS libraries loaded, found once: ``threadpool_limits`` looks them up on every call
    (2 ms here, 3% of the choice on eight schools); limiting through a kept controller takes
    20 us. BLAS loaded after the first choice is not limited (only slower, never wrong)."""
    return ThreadpoolController()


@contextmanager
def _collector_paused():
    """No garbage-collector passes while the block runs (re-enabled after, if it was). Each graph
    node built survives a while, so the passes the building sets off reach the oldest generation,
    the whole heap (PyMC, PyTensor, the user's objects): about 0.1 of 1.0 s on the T=10 DBN,
    counting the pass after the block. The block's cyclic garbage (about 10 MB there) waits for
    that pass."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _choose(model, wanted, excluded, start, mode, colours, max_iter, tol, snap, n_draws, seed):
    aux, rep = rewrite_model(model, var_names=wanted, exclude=excluded)
    decisions, targets = {}, []
    for r in rep.rewritten:
        partial = _supports_partial(model, r.name)
        if partial and _constant_parameters(model, r.name):
            decisions[r.name] = CenteringDecision(
                r.name, 1.0, np.zeros(0), 1.0, partial, r.distribution, rule=_ROOT_RULE
            )
        elif len(r.noise) == 1 and _constant_parameters(aux, r.noise[0]):
            targets.append((r.name, r.noise[0], partial))
    dists = {r.name: r.distribution for r in rep.rewritten}
    choice = CenteringChoice(decisions)
    if targets and _without_data(aux, [noise for _, noise, _ in targets]):
        # the pilot would read r = 0 exactly for each of them, whatever its point: no pilot
        for name, _, partial in targets:
            choice.decisions[name] = CenteringDecision(
                name, 0.0, np.zeros(0), 1.0, partial, dists[name], rule=_NO_DATA_RULE
            )
    elif targets:
        rng = np.random.default_rng(seed)
        try:
            _run_pilot(
                choice, aux, model, targets, dists, rng, mode, colours, max_iter, tol, snap, n_draws
            )
        except (PilotFailed, FloatingPointError, np.linalg.LinAlgError) as err:
            _fall_back(choice, targets, dists, str(err))
    choice.seconds = time.perf_counter() - start
    return choice, (aux, rep)


def _run_pilot(
    choice, aux, model, targets, dists, rng, mode, colours, max_iter, tol, snap, n_draws
):
    noises = [noise for _, noise, _ in targets]
    pilot = Pilot(aux, model, targets, rng, mode, colours)
    prior = {n: noise_information(aux, n, n_draws, rng, mode, pilot.point) for n in noises}
    lams = {noise: np.zeros(pilot.shapes[noise]) for noise in noises}
    with np.errstate(all="ignore"):
        seed = pilot.start(prior)
    if seed is not None:
        lams = {noise: _lam(seed[noise] / prior[noise]) for noise in noises}
    partial = {noise: p for _, noise, p in targets}
    decided = {n: _decide(lams[n], partial[n], snap) for n in noises}
    choice.converged = False
    with np.errstate(all="ignore"):
        while choice.iterations < max_iter:
            choice.iterations += 1
            info = pilot.move(prior)
            # (an estimated block's information is already its mean, the same for every element)
            new = {noise: _lam(info[noise] / prior[noise]) for noise in noises}
            change = max(float(np.max(np.abs(new[n] - lams[n]), initial=0)) for n in noises)
            old, lams = decided, new
            decided = {n: _decide(lams[n], partial[n], snap) for n in noises}
            same = all(np.array_equal(decided[n], old[n]) for n in noises)
            if change <= tol or same:  # settled, or moved below what the decisions resolve
                choice.converged = True
                break
    if not choice.converged:
        warnings.warn(
            f"centering='auto': the pilot's lam still moved by {change:.2g} (> tol={tol}) after "
            f"max_iter={max_iter} iterations; the choice may be off. Pass a larger max_iter, or "
            "fix the centering (a number or a dict of lam per variable).",
            UserWarning,
            stacklevel=4,
        )
    reach = _reach(pilot, targets, decided, info, prior, snap)
    for name, noise, can_partial in targets:
        exact = pilot.diagonal.get(noise, False)
        lam, at_mode, span = decided[noise], None, None
        if noise in reach:
            at_mode, span = lam, reach[noise]
            lam = _over_reach(lam, info[noise] / prior[noise], span, snap)
        choice.decisions[name] = CenteringDecision(
            name,
            lam,
            info[noise],
            prior[noise],
            can_partial,
            dists[name],
            exact,
            lam_at_mode=at_mode,
            reach=span,
            reach_at_least=noise in pilot.reach_ended,
        )
    choice.gradient_calls, choice.hvp_calls = pilot.gradient_calls, pilot.hvp_calls


def _reach(pilot: Pilot, targets, decided, info, prior, snap) -> dict:
    """The posterior reach of the scale of each target that keeps some centering (a form with
    partial centering, a diagonal block, some lam > 0), in ``log D`` relative to the pilot's
    mode (:mod:`pymc_auxform._reach`); empty when there is none, or it cannot be estimated."""

    def chosen(noise, low, high):
        return _over_reach(decided[noise], info[noise] / prior[noise], (low, high), snap)

    def settled(noise, low, high) -> bool:  # the reach changes nothing
        return bool(np.array_equal(chosen(noise, low, high), decided[noise]))

    def floor(noise, low, high) -> bool:  # every element at 0: a longer reach changes nothing
        return not np.any(np.asarray(chosen(noise, low, high)) > 0)

    inner = [n for n in pilot.noises if pilot.diagonal.get(n, False)]
    kept = [
        noise
        for _, noise, partial in targets
        if partial and noise in inner and np.any(np.asarray(decided[noise]) > 0)
    ]
    if not kept:
        return {}
    with np.errstate(all="ignore"):
        reach = pilot.scale_reach(inner, prior, kept, settled=settled, floor=floor)
    if pilot.reach_skipped:
        names = [name for name, noise, _ in targets if noise in kept]
        warnings.warn(
            f"centering='auto': the posterior reach of the scale of {names} was not estimated "
            f"({pilot.reach_skipped}); their lam chosen at the pilot's mode is kept. Where the "
            "scale is weakly identified that lam can diverge: if pm.sample reports divergences, "
            "pass centering=0.0.",
            UserWarning,
            stacklevel=5,
        )
    return reach


def _over_reach(lam, ratio, span, snap: float) -> float | np.ndarray:
    """The centering used from ``lam`` chosen at the mode, kept over the scale's reach
    ``span = (low, high)`` (:func:`~pymc_auxform._reach.lam_for_reach`), snapped and rounded."""
    return _decide(lam_for_reach(lam, ratio, *span), True, snap)


def _decide(lam: np.ndarray, partial: bool, snap: float) -> float | np.ndarray:
    """The centering used from a raw ``lam = r / (1 + r)`` per element: snapped to 0 or 1 within
    ``snap`` and rounded to the grid in between (the partial form then computes powers per level,
    not per element, and lam to 0.025 changes the mixing by little); one value when all agree.
    Forms without partial centering: 1 (centered) if the mean is above 1/2, else 0."""
    if not partial:
        return 1.0 if float(np.mean(lam)) > 0.5 else 0.0
    inner = np.round(lam / _GRID) * _GRID
    chosen = np.where(lam < snap, 0.0, np.where(lam > 1 - snap, 1.0, inner))
    return float(np.mean(chosen)) if np.ptp(chosen) < 1e-6 else chosen


def _fall_back(choice: CenteringChoice, targets, dists, reason: str) -> None:
    warnings.warn(
        f"centering='auto': the pilot failed ({reason}); the variables it decides are kept as "
        "written. Pass centering=0.0 for the full auxiliary form, or a dict of lam per variable.",
        UserWarning,
        stacklevel=3,
    )
    choice.failed = reason
    choice.converged = False
    for name, _, partial in targets:
        choice.decisions[name] = CenteringDecision(
            name, 1.0, np.zeros(0), 1.0, partial, dists[name], rule=f"pilot failed ({reason})"
        )


def _constant_parameters(model: pm.Model, name: str) -> bool:
    """Whether no free variable of ``model`` is an ancestor of ``name``'s parameters."""
    rv = model[name]
    free = set(model.free_RVs) | set(model.value_vars)
    # a noise's parameter-check guard (forms.checks) does not make it depend on its parents
    inputs = [strip_guard(i) for i in rv.owner.inputs]
    inputs = [i for i in inputs if not isinstance(i, Constant)]
    return not any(a in free for a in ancestors(inputs, blockers=list(free)))


def _without_data(aux: pm.Model, noises: list[str]) -> bool:
    """Whether no term of the pilot's likelihood (every log density of ``aux`` but the ``noises``'
    own priors: free and observed variables, potentials) depends on any of the ``noises``. Their
    likelihood information is then 0 at every point (no observation, potential or other
    variable's density below them)."""
    noise_rvs = [aux[noise] for noise in noises]
    own = set(noise_rvs)
    terms = [rv.owner.inputs for rv in aux.free_RVs + aux.observed_RVs if rv not in own]
    graphs = [i for inputs in terms for i in inputs] + list(aux.potentials)
    return not any(a in own for a in ancestors(graphs))


_NO_DATA_RULE = "no data below it (no observation, potential or other density): r = 0"

# Any lam gives an affine map of such a root in the sampler's space (which an adapted diagonal mass
# matrix undoes): kept as written (see the module docstring, "Root variables").
_ROOT_RULE = (
    "root variable with constant parameters: every lam is an affine map of it; kept as written"
)


def _supports_partial(model: pm.Model, name: str) -> bool:
    form = get_form(model[name].owner.op)
    return bool(form is not None and form.supports_partial)


def _lam(ratio) -> np.ndarray:
    ratio = np.clip(np.asarray(ratio, dtype=float), 0.0, None)
    return ratio / (1.0 + ratio)


__all__ = ["choose_centering"]
