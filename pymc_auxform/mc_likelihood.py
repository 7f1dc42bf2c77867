r"""EM-free learning (Kingma 2013, "Extra"): gradient ascent on the Monte Carlo likelihood.

In auxiliary form the latents are noise :math:`\epsilon \sim p(\epsilon)`, a distribution free of
:math:`\theta`, so

.. math::

    \log p_\theta(x) \approx \log \frac1L \sum_{l=1}^L p_\theta(x \mid \epsilon_l),
    \qquad \epsilon_l \sim p(\epsilon),

is differentiable in :math:`\theta` at fixed draws: no E-step, no sampler, a fresh draw of the
noise every iteration. With a dim over which the model factorizes (one latent block per data
point) the average is taken per point, :math:`\sum_n \log \frac1L \sum_l p_\theta(x_n \mid
\epsilon_{n,l})`. It is a lower bound of :math:`\log p_\theta(x)` in expectation (tight as
:math:`L \to \infty`); :math:`L = 1` is the "dropout" case of Kingma (2013). It works when the prior of the
latents covers their posterior well (few latent dimensions per point); otherwise use
:func:`~pymc_auxform.stochastic_em`.
"""

from __future__ import annotations

import time

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.model.transform.conditioning import remove_value_transforms
from pymc.pytensorf import compile as pm_compile
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import ancestors

from pymc_auxform._batching import Batcher, Minibatch
from pymc_auxform._draws import vectorize_over_draws
from pymc_auxform._independence import find_independent_dim, reduce_to_dim
from pymc_auxform._loop import LearningProgress, LoopOptions, run_to_end, setup_run
from pymc_auxform._theta import Theta, check_depends
from pymc_auxform.auxify import auxify
from pymc_auxform.em_result import EMProgress, EMResult, History


def fit_mc_likelihood(
    model: pm.Model | None = None,
    params: str | Variable | Sequence[str | Variable] | None = None,
    *,
    n_iter: int,
    n_noise: int = 8,
    optimizer: str | Callable = "adam",
    learning_rate: float = 0.05,
    anneal: bool = True,
    constraints: Mapping[str, str | tuple[float, float]] | None = None,
    minibatch: Minibatch | None = None,
    independent_dim: str | bool | None = None,
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
    r"""Learn ``pm.Data`` parameters by gradient ascent on the Monte Carlo likelihood.

    Each iteration draws :math:`L` = ``n_noise`` noise values per latent from their prior (in
    auxiliary form), and takes one optimizer step on
    :math:`\log \frac1L \sum_l p_\theta(x \mid \epsilon_l)` (per point of the model's
    independent dim). Same optimizers, constraints, minibatches, callbacks, checkpoints and
    result as :func:`~pymc_auxform.stochastic_em`.

    Parameters
    ----------
    model : pm.Model, optional
        The model; :math:`\theta` are float ``pm.Data``. Every latent must have an auxiliary
        form (its noise prior must not depend on :math:`\theta`). Taken from the
        ``with model:`` context if omitted (then ``fit_mc_likelihood("w", n_iter=...)`` works).
    params : str, Variable or sequence of them
        The ``pm.Data`` to learn.
    n_iter : int
        Optimizer steps.
    n_noise : int, default 8
        :math:`L`, noise draws per iteration (1: the "dropout" estimator).
    optimizer, learning_rate, anneal, constraints, minibatch
        As in :func:`~pymc_auxform.stochastic_em`.
    independent_dim : str, False or None
        The dim the model factorizes over (found automatically when ``None``; ``False``: average
        the whole likelihood at once, which is only useful for small data).
    random_seed, callback, tol, patience, progressbar, checkpoint_every, checkpoint_path,
    resume_from, mode
        As in :func:`~pymc_auxform.stochastic_em`.

    Returns
    -------
    EMResult
        With ``method="mc-likelihood"``; ``objective`` is the Monte Carlo estimate of the
        (minibatch-scaled) log-likelihood at each step; no E-step statistics.

    Raises
    ------
    ValueError
        A latent whose prior depends on :math:`\theta` (no auxiliary form), and the errors of
        :func:`~pymc_auxform.stochastic_em`.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import fit_mc_likelihood

        x = np.random.default_rng(0).normal(1.5, np.sqrt(2.0), size=100)
        with pm.Model(coords={"obs": range(100)}) as model:
            mu = pm.Data("mu", 0.0)
            z = pm.Normal("z", mu, 1.0, dims="obs")
            pm.Normal("x", z, 1.0, observed=x, dims="obs")
            result = fit_mc_likelihood("mu", n_iter=300, random_seed=1)
        result.final["mu"]  # close to x.mean()
    """
    opts = LoopOptions(n_iter, callback, tol, patience, checkpoint_every, checkpoint_path, anneal)
    setup = setup_run(
        "fit_mc_likelihood",
        model,
        params,
        opts,
        learning_rate=learning_rate,
        resume_from=resume_from,
        random_seed=random_seed,
        mode=mode,
        n_noise=(n_noise, 1),
    )
    model, names, previous, rng, mode = (
        setup.model,
        setup.names,
        setup.previous,
        setup.rng,
        setup.mode,
    )
    with LearningProgress(progressbar, "MC likelihood") as progress:
        with progress.phase("compiling"):
            t0 = time.perf_counter()
            work = remove_value_transforms(auxify(model, centering=0.0))
            theta = Theta(work, names, constraints, optimizer, learning_rate, mode)
            if previous is not None:
                theta.set(previous.final)
                theta.state = previous.state["optimizer"]
            _check_noise_free_of_theta(work, theta.shared)
            batcher = Batcher(model, work, minibatch, False, rng.spawn(1)[0])
            dim = find_independent_dim(work, independent_dim, rng)
            objective_fn = _compile_objective(work, theta.shared, batcher.scale, dim, n_noise, mode)
            draw = pm_compile([], work.free_RVs, random_seed=int(rng.integers(2**31)), mode=mode)
            objective_fn(*_draw(draw, n_noise))
            hist = History(names, theta.values(), time.perf_counter() - t0, previous)
        if previous is not None:
            batcher.state = previous.state["batcher"]

        def one_iteration():
            t_e = time.perf_counter()
            batcher.load_next(None)
            draws = _draw(draw, n_noise)
            t_m = time.perf_counter()
            objective, *grads = objective_fn(*draws)
            if not np.isfinite(objective):
                raise FloatingPointError(
                    f"The MC likelihood is {objective} at {theta.describe()}: no noise draw "
                    "explains some data point. Raise n_noise, lower learning_rate, or use "
                    "stochastic_em."
                )
            theta.step(grads)
            return float(objective), grads, {}, t_m - t_e, time.perf_counter() - t_m

        def make_result(converged, interrupted):
            return hist.result(
                dims=work.named_vars_to_dims,
                coords=work.coords,
                converged=converged,
                interrupted=interrupted,
                method="mc-likelihood",
                model=work,
                state={"batcher": batcher.state, "optimizer": theta.state, "chain": None},
            )

        return run_to_end(setup, one_iteration, hist, theta, progress, make_result, work)


def _check_noise_free_of_theta(work: pm.Model, shared) -> None:
    for rv in work.free_RVs:
        above = set(ancestors([work.logp(vars=[rv])]))
        tied = [v.name for v in shared if v in above]
        if tied:
            raise ValueError(
                f"The latent {rv.name!r} has no auxiliary form here: its prior depends on "
                f"{tied}, so the MC likelihood gradient would need a score-function term. "
                "Use stochastic_em, or a distribution with a registered form."
            )


def _compile_objective(work, shared, scale, dim, n_noise, mode):
    """sum over points of log mean_l p(x_n | eps_l), times the minibatch scale, and its gradient."""
    rvs = work.observed_RVs + list(work.potentials)
    terms = work.logp(vars=rvs, sum=False)
    per_point = sum(reduce_to_dim(work, rv, t, dim) for rv, t in zip(rvs, terms, strict=True))
    values = [work.rvs_to_values[rv] for rv in work.free_RVs]
    inputs, (batched,) = vectorize_over_draws([per_point], values)  # (L,) or (L, N)
    lse = pt.logsumexp(batched, axis=0) - np.log(n_noise)
    objective = scale * lse.sum()
    check_depends(objective, shared)
    fn = pytensor.function(inputs, [objective, *pt.grad(objective, shared)], mode=mode)
    fn.trust_input = True
    return fn


def _draw(draw, n_noise) -> list[np.ndarray]:
    rows = [draw() for _ in range(n_noise)]
    return [np.stack(col) for col in zip(*rows, strict=True)]


__all__ = ["fit_mc_likelihood"]
