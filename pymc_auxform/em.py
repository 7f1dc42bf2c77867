r"""Stochastic (MCMC-) EM for the parameters :math:`\theta` of a model with continuous latents.

E-step: draws :math:`z^l \sim p_\theta(z \mid x)` from a persistent NUTS/HMC chain (PyMC's own
step methods) on the latents, in auxiliary form by default, so the chain mixes fast.
M-step: gradient ascent on :math:`\frac1L \sum_l \log p_\theta(x, z^l)` with an optimizer of
:mod:`pymc.variational.updates`. The parameters :math:`\theta` are ``pm.Data`` of the model.
"""

from __future__ import annotations

import time

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.exceptions import SamplingError
from pymc.logprob.utils import ParameterValueError
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import ancestors

from pymc_auxform._batching import Batcher, Minibatch
from pymc_auxform._draws import PersistentChain
from pymc_auxform._loop import LearningProgress, LoopOptions, run_to_end, setup_run
from pymc_auxform._theta import Theta, check_depends
from pymc_auxform.auxify import auxify
from pymc_auxform.em_result import EMProgress, EMResult, History


class EStepError(RuntimeError):
    """The E-step sampler failed; the message names the parameters and their values."""


def stochastic_em(
    model: pm.Model | None = None,
    params: str | Variable | Sequence[str | Variable] | None = None,
    *,
    n_iter: int,
    draws_per_iter: int = 10,
    tune: int = 200,
    optimizer: str | Callable = "adam",
    learning_rate: float = 0.05,
    anneal: bool = True,
    constraints: Mapping[str, str | tuple[float, float]] | None = None,
    step: str = "nuts",
    step_kwargs: Mapping | None = None,
    adapt: bool = True,
    m_steps: int = 1,
    use_auxiliary: bool = True,
    minibatch: Minibatch | None = None,
    random_seed: int | np.random.Generator | None = None,
    callback: Callable[[EMProgress], bool | None] | None = None,
    tol: float | None = None,
    patience: int = 20,
    progressbar: bool = True,
    checkpoint_every: int | None = None,
    checkpoint_path: str | Path | None = None,
    resume_from: EMResult | str | Path | None = None,
    mode: str | None = None,
) -> EMResult:
    r"""Learn ``pm.Data`` parameters :math:`\theta` by stochastic MCMC-EM (Kingma, 2013).

    Each iteration runs ``draws_per_iter`` steps of a persistent NUTS/HMC chain on the latents
    (warm-started where the previous iteration stopped) and then ``m_steps`` optimizer steps on
    :math:`\frac1L \sum_{l=1}^{L} \log p_\theta(x, z^l)` w.r.t. :math:`\theta`. With
    ``use_auxiliary=True`` the chain runs on ``auxify(model, centering=0.0)``: the latents are
    noise variables and the E-step mixes fast in deep and recurrent models. All functions are
    compiled once. At the end, a :class:`~pymc_auxform.NotConvergedWarning` says when the run
    stopped far from a stationary point (objective still rising, gradient still one-sided).

    Parameters
    ----------
    model : pm.Model, optional
        The model; :math:`\theta` are float ``pm.Data`` in it. Its latents must be continuous.
        PyMC's ``pm.Minibatch`` / ``total_size`` are refused: use ``minibatch=``. Taken from the
        ``with model:`` context if omitted (then ``stochastic_em("w", n_iter=...)`` also works).
    params : str, Variable or sequence of them
        The ``pm.Data`` to learn (names or the shared variables of ``model``).
    n_iter : int
        Number of EM iterations (more when resuming: this many more).
    draws_per_iter : int, default 10
        :math:`L`, chain steps per E-step; the M-step averages over all of them.
    tune : int, default 200
        Warm-up steps (with step-size and mass-matrix adaptation) before the first iteration.
    optimizer : str or callable, default "adam"
        A name in :mod:`pymc.variational.updates` (``"adam"``, ``"adagrad"``, ...), or a callable
        ``f(loss_or_grads, params, learning_rate=...)`` returning an updates dict. Adam's steps
        do not depend on the scale of the objective (which grows with the data), so its default
        learning rate works across models.
    learning_rate : float, default 0.05
    anneal : bool, default True
        Keep ``learning_rate`` over the first half of the ``n_iter`` iterations, then lower it
        linearly to a tenth at the end: the final theta then carries little of the Monte Carlo
        jitter of the E-step draws (measured on the one-factor model: final error 0.05 -> 0.01).
        ``False``: constant.
    constraints : dict, optional
        Per parameter name, ``"positive"`` or ``(lo, hi)``: the optimizer works on
        :math:`\log\theta` or :math:`\mathrm{logit}` of the rescaled :math:`\theta`, so the
        parameter never leaves its domain (use it for scales).
    step : {"nuts", "hmc"}, default "nuts"
        PyMC step method of the E-step; ``step_kwargs`` go to it (``path_length`` for HMC, ...).
    adapt : bool, default True
        Keep adapting step size and mass matrix during EM (the posterior moves with theta);
        ``False`` adapts during ``tune`` only.
    m_steps : int, default 1
        Optimizer steps per E-step (on the same draws).
    use_auxiliary : bool, default True
        Run the E-step on ``auxify(model, centering=0.0)`` instead of ``model``.
    minibatch : Minibatch, optional
        Stochastic EM over minibatches of a large data set (see :class:`Minibatch`).
    random_seed : int or Generator, optional
    callback : callable, optional
        Called as ``callback(EMProgress)`` after each iteration; returning ``True`` stops.
    tol : float, optional
        Stop when the mean objective of the last ``patience`` iterations differs from that of the
        ``patience`` before by less than ``tol * max(1, |mean|)``.
    patience : int, default 20
    progressbar : bool, default True
        Show the compile and tuning phases, then the iterations with the objective (mean of the
        last 10), the E-step acceptance and divergences.
    checkpoint_every, checkpoint_path : optional
        Save the run (as :meth:`EMResult.save`) every ``checkpoint_every`` iterations.
    resume_from : EMResult or path, optional
        Continue a run (theta, optimizer state, chain state, history) saved by
        :meth:`EMResult.save` or returned by an earlier call on the same model and ``params``.
    mode : str, optional
        PyTensor compilation mode of the E-step and M-step functions (default: the faster
        measured on this package's benchmarks, see ``benchmarks/results/backend.md``).

    Returns
    -------
    EMResult
        Theta trajectory (xarray), objective history, timings, E-step statistics, and the state
        for resuming. The final theta is also set into the ``pm.Data`` of ``model``. Ctrl-C
        returns the partial result (``interrupted=True``) with a warning.

    Raises
    ------
    ValueError
        Unknown or non-float parameters, parameters the log density does not depend on, discrete
        latents, ``pm.Minibatch`` models, bad minibatch spec, constraints or options.
    EStepError
        The sampler failed (e.g. a scale parameter went negative); names theta's values.
    FloatingPointError
        The objective or the gradient of a parameter is NaN/inf (the message names the
        parameter; theta keeps its last finite value).

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import stochastic_em

        x = np.random.default_rng(0).normal(1.5, np.sqrt(2.0), size=100)
        with pm.Model() as model:
            mu = pm.Data("mu", 0.0)
            s = pm.Data("s", 1.0)
            z = pm.Normal("z", mu, s, shape=100)
            pm.Normal("x", z, 1.0, observed=x)
            result = stochastic_em(["mu", "s"], n_iter=200, constraints={"s": "positive"},
                                   random_seed=1)
        result.final["mu"]  # close to the MLE x.mean()
        result.to_dataframe().tail()
    """
    opts = LoopOptions(n_iter, callback, tol, patience, checkpoint_every, checkpoint_path, anneal)
    setup = setup_run(
        "stochastic_em",
        model,
        params,
        opts,
        learning_rate=learning_rate,
        resume_from=resume_from,
        random_seed=random_seed,
        mode=mode,
        draws_per_iter=(draws_per_iter, 1),
        tune=(tune, 0),
        m_steps=(m_steps, 1),
    )
    model, names, previous, rng, mode = (
        setup.model,
        setup.names,
        setup.previous,
        setup.rng,
        setup.mode,
    )
    with LearningProgress(progressbar, "Stochastic EM") as progress:
        with progress.phase("compiling"):
            t0 = time.perf_counter()
            work = auxify(model, centering=0.0) if use_auxiliary else model
            theta = Theta(work, names, constraints, optimizer, learning_rate, mode)
            if previous is not None:
                theta.set(previous.final)
            batcher = Batcher(model, work, minibatch, use_auxiliary, rng.spawn(1)[0])
            kwargs = {"compile_kwargs": {"mode": mode}, **dict(step_kwargs or {})}
            chain = PersistentChain(
                work, step=step, rng=rng.spawn(1)[0], step_kwargs=kwargs, start=batcher.start()
            )
            grad_fn, value_names = _compile_objective(work, theta.shared, batcher, mode)
            _call(grad_fn, [chain.point[n][None] for n in value_names], theta)  # JIT compiles
            hist = History(names, theta.values(), time.perf_counter() - t0, previous)
        if previous is not None:
            chain.state = previous.state["chain"]
            batcher.state = previous.state["batcher"]
            theta.state = previous.state["optimizer"]
        elif tune:
            with progress.phase(f"tuning ({tune} steps)"):
                t_tune = time.perf_counter()
                batcher.load_next(chain)
                _e_step(chain, tune, True, theta)
                batcher.store(chain)
                hist.tune_time += time.perf_counter() - t_tune

        def one_iteration():
            t_e = time.perf_counter()
            batcher.load_next(chain)
            draws, stats = _e_step(chain, draws_per_iter, adapt, theta)
            batcher.store(chain)
            t_m = time.perf_counter()
            inputs = [draws[n] for n in value_names]
            objective, grads = _m_step(grad_fn, inputs, theta, m_steps)
            return objective, grads, stats, t_m - t_e, time.perf_counter() - t_m

        def make_result(converged, interrupted):
            state = {"chain": chain.state, "batcher": batcher.state, "optimizer": theta.state}
            return hist.result(
                dims=work.named_vars_to_dims,
                coords=work.coords,
                converged=converged,
                interrupted=interrupted,
                method="mcmc-em",
                model=work,
                state=state,
            )

        return run_to_end(setup, one_iteration, hist, theta, progress, make_result, work)


def _e_step(chain: PersistentChain, n: int, tune: bool, theta: Theta):
    """``n`` chain steps; a sampler failure is re-raised naming theta and where logp is -inf."""
    try:
        return chain.sample(n, tune=tune)
    except (SamplingError, ValueError, FloatingPointError) as err:
        raise EStepError(
            f"The E-step sampler failed at {theta.describe()}{_where_infinite(chain, theta)}. "
            "A scale parameter that went negative or to zero is the usual cause: constrain it "
            "(constraints={name: 'positive'}), lower learning_rate, or check the model at "
            f"this theta. Sampler message: {err}"
        ) from err


def _where_infinite(chain, theta) -> str:
    try:
        logps = chain.model.point_logps(chain.point)
    except Exception:
        return ""
    bad = [k for k, v in logps.items() if not np.isfinite(v)]
    if not bad:
        return ""
    parts = []
    for k in bad:
        above = set(ancestors([chain.model[k]]))
        params = [n for n, v in zip(theta.names, theta.shared, strict=True) if v in above]
        parts.append(f"{k!r}" + (f" (depends on {', '.join(params)})" if params else ""))
    return f": the log density of {', '.join(parts)} is not finite there"


def _compile_objective(work: pm.Model, shared, batcher, mode) -> tuple[Callable, list[str]]:
    """Compile ``log p(x, z)`` and its gradient w.r.t. theta once; return the MC average over draws.

    The returned function takes each value variable stacked over the L draws (leading axis) and
    returns the mean objective and mean gradients, looping over the draws in Python. A graph
    vectorized over the draws (``vectorize_graph``) was measured no faster on the digits model
    (6.8-7.4 ms vs 5.0-9.8 ms for L = 4), compiles slower, and not every Op vectorizes.
    """
    scaled = [work[n] for n in batcher.scaled_names]
    rest = [rv for rv in work.basic_RVs if rv not in scaled] + list(work.potentials)
    logp = pt.as_tensor(0.0)
    if scaled:
        logp = logp + batcher.scale * work.logp(vars=scaled)
    if rest:
        logp = logp + work.logp(vars=rest)
    check_depends(logp, shared)
    values = work.continuous_value_vars
    fn = pytensor.function(values, [logp, *pt.grad(logp, shared)], mode=mode)
    fn.trust_input = True

    def mc_average(*draws):
        total = None
        for row in zip(*draws, strict=True):
            out = fn(*row)
            total = out if total is None else [t + o for t, o in zip(total, out, strict=True)]
        n = len(draws[0])
        return [t / n for t in total]

    return mc_average, [v.name for v in values]


def _call(grad_fn, inputs, theta: Theta):
    try:
        return grad_fn(*inputs)
    except ParameterValueError as err:
        raise EStepError(
            f"The log density is undefined at {theta.describe()}: a parameter is outside the "
            f"domain of a distribution ({err}). Constrain it (constraints={{name: 'positive'}} "
            "for a scale) or start it inside."
        ) from err


def _m_step(grad_fn, inputs, theta: Theta, m_steps) -> tuple[float, list]:
    objective, first = np.nan, None
    for k in range(m_steps):
        value, *grads = _call(grad_fn, inputs, theta)
        if k == 0:
            objective, first = float(value), grads
        if not np.isfinite(value):
            raise FloatingPointError(
                f"The EM objective is {value} at the E-step draws, at {theta.describe()}. "
                "Lower learning_rate, constrain the parameter, or check the model at this theta."
            )
        theta.step(grads)
    return objective, first


__all__ = ["EStepError", "stochastic_em"]
