r"""Monte Carlo estimates of the marginal likelihood :math:`\log p_\theta(x)` that say when they
are wrong.

* ``"importance"``: a multivariate Student-t proposal fitted to NUTS draws of the posterior in
  the unconstrained (noise) space; weights :math:`w = p(x, u) / q(u)`, value-transform
  Jacobians included.
* ``"prior"``: Kingma's (2013) "EM-free" estimator. In auxiliary form every latent is a root noise
  variable, so :math:`p(x) = \mathbb{E}_{\epsilon \sim p(\epsilon)}[p(x \mid \epsilon)]`.
* ``"smc"``: sequential Monte Carlo with HMC moves and a dense mass matrix
  (:mod:`pymc_auxform._ais`), for coupled, high-dimensional latents (time series, deep models);
  the standard error is the spread of independent runs.
* ``"ais"``: annealed importance sampling with HMC moves (experimental).

Each returns :math:`\log \frac1S \sum_s w_s` and its delta-method standard error, and
diagnoses the weights with the Pareto :math:`\hat k` of PSIS (ArviZ): above 0.7 the variance of
the weights is not finite in practice, the standard error means nothing, and it is reported as
NaN with a warning. When the model factorizes over a dim (one latent block per data point, found
automatically and checked), the estimate is a sum of per-point estimates, whose variance grows
linearly, not exponentially, with the number of points.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pymc as pm

from scipy import special

from pymc_auxform._ais import ais_log_weights, smc_log_evidence, smc_unreliable
from pymc_auxform._draws import PersistentChain
from pymc_auxform._independence import find_independent_dim, latent_dim, pointwise_fn
from pymc_auxform._proposal import Layout, pareto_khat, student_t_proposal
from pymc_auxform._theta import resolve_mode
from pymc_auxform.auxify import auxify
from pymc_auxform.marginal_result import KHAT_THRESHOLD, LogMarginal, UnreliableEstimateWarning

METHODS = ("auto", "importance", "prior", "smc", "ais")
#: Above this many latent dimensions (per point of the independent dim, if any), ``"auto"`` uses
#: ``"smc"``: the Student-t proposal of ``"importance"`` is fitted to a few hundred draws.
AUTO_SMC_DIM = 50


def estimate_log_marginal(
    model: pm.Model | None = None,
    *,
    method: str = "auto",
    n_samples: int | None = None,
    random_seed: int | np.random.Generator | None = None,
    use_auxiliary: bool = True,
    independent_dim: str | bool | None = None,
    posterior_draws: int = 500,
    tune: int = 500,
    proposal_df: float = 10.0,
    step_kwargs: dict | None = None,
    n_runs: int = 4,
    n_moves: int = 10,
    n_leapfrog: int | None = None,
    threshold: float = 0.5,
    n_temps: int = 300,
    mode: str | None = None,
) -> LogMarginal:
    r"""Estimate :math:`\log p(x)` of a model's observed data by Monte Carlo, with its error.

    Parameters
    ----------
    model : pm.Model, optional
        A model with observed data and continuous latents (theta fixed, e.g. as ``pm.Data``);
        taken from the ``with model:`` context if omitted.
    method : {"auto", "importance", "prior", "smc", "ais"}, default "auto"
        ``"auto"``: ``"importance"`` (per point when the model factorizes over a dim) up to 50
        latent dimensions (per point), ``"smc"`` above (measured on a linear-Gaussian
        state-space model with 200 coupled latents: SMC 0.4 se from the exact value, see
        ``benchmarks/results/marginal.md``). ``"prior"``: :math:`\hat p(x) = \frac1S\sum_s
        p(x \mid \epsilon_s)`, :math:`\epsilon_s` from the prior of the (auxiliary-form)
        latents; fine in a few dimensions. ``"importance"``: runs NUTS on the latents
        (``tune`` + ``posterior_draws`` steps), fits a multivariate Student-t (``proposal_df``
        degrees of freedom) in the unconstrained space, and weights :math:`S` proposal draws by
        :math:`p(x, u) / q(u)`; a posterior mode the chain never visited is missed (check
        ``khat``). ``"smc"``: ``n_runs`` independent sequential Monte Carlo runs of
        ``n_samples`` particles from the prior to the posterior, the next temperature chosen so
        that the incremental weights keep an ESS of ``threshold``, resampling, then ``n_moves``
        HMC moves of ``n_leapfrog`` steps with a dense mass matrix fitted to the particles;
        ``estimate`` is the log of the runs' mean :math:`\hat Z` and ``se`` comes from their
        spread, ``khat`` is the worst of the importance steps. Too few moves or particles leave
        the particles behind the posterior or collapsed on few points, and bias it by more
        than its ``se`` (measured on the T=50 state-space model: 512 particles, 5 moves of 5
        steps, a mass matrix fitted to all particles: 1.0 nat low with se 0.08; the defaults:
        0.05 low with se 0.12); a warning flags particles whose log-likelihood the moves still
        change, or that the moves leave correlated with where they started.
        ``"ais"``: annealed importance sampling over ``n_temps`` temperatures with
        ``n_leapfrog``-step HMC moves, ``n_samples`` particles; experimental: its ``se`` and
        ``khat`` do not see the bias of too short an annealing (a warning says so).
    n_samples : int, optional
        :math:`S`: draws per point (default 2000), or SMC/AIS particles (default 1024/256).
    random_seed : int or Generator, optional
    use_auxiliary : bool, default True
        Work on ``auxify(model, centering=0.0)`` (the noise space), where posteriors are closer
        to Gaussian and the prior of the latents is free of theta.
    independent_dim : str, False or None, default None
        A dim over which the model factorizes (every free and observed variable has it and the
        points are not coupled along it: checked, a coupled dim raises). ``None`` finds one if
        there is one; ``False`` never factorizes.
    posterior_draws, tune : int, default 500
        NUTS draws and warm-up for ``"importance"``.
    proposal_df : float, default 10.0
        Degrees of freedom of the proposal (``np.inf`` for a Gaussian).
    step_kwargs : dict, optional
        Passed to ``pm.NUTS``.
    n_runs, n_moves, n_leapfrog : int, default 4, 10, 5
        SMC: independent runs, HMC moves per temperature, leapfrog steps per move (AIS: one
        move of ``n_leapfrog`` steps, default 8, per temperature).
    threshold : float, default 0.5
        SMC: ESS (as a fraction of the particles) kept by each temperature step.
    n_temps : int, default 300
        AIS temperatures.
    mode : str, optional
        PyTensor compilation mode of the estimator's functions.

    Returns
    -------
    LogMarginal
        ``estimate``, ``se`` (NaN when unreliable), ``khat``, ``ess`` and, with a dim, the
        per-point estimates.

    Warns
    -----
    UnreliableEstimateWarning
        When the Pareto k-hat of the weights exceeds 0.7, or (``"smc"``) when log Z of the runs
        spreads by more than 1 (sd).

    Raises
    ------
    ValueError
        Unknown method, a model without observed data or latents, discrete latents, or an
        ``independent_dim`` that is missing from a variable or couples the points.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import estimate_log_marginal

        with pm.Model(coords={"obs": range(3)}) as model:
            z = pm.Normal("z", 0.0, 2.0, dims="obs")
            pm.Normal("y", z, 1.0, observed=np.array([0.3, 1.1, 0.7]), dims="obs")

        res = estimate_log_marginal(model, random_seed=0)  # factorizes over "obs"
        res.estimate, res.se, res.khat
    """
    t0 = time.perf_counter()
    if model is None:
        model = pm.modelcontext(None)
    if not isinstance(model, pm.Model):
        raise TypeError(f"estimate_log_marginal expects a pymc.Model, got {type(model).__name__}.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if n_leapfrog is None:
        n_leapfrog = 8 if method == "ais" else 5
    for arg, value in [("n_runs", n_runs), ("n_moves", n_moves), ("n_leapfrog", n_leapfrog)]:
        if not isinstance(value, int | np.integer) or value < (2 if arg == "n_runs" else 1):
            raise ValueError(f"{arg} must be a positive integer (n_runs >= 2), got {value!r}.")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold!r}.")
    for arg, value in [
        ("n_samples", 2 if n_samples is None else n_samples),
        ("posterior_draws", posterior_draws),
    ]:
        if not isinstance(value, int | np.integer) or value < 2:
            raise ValueError(f"{arg} must be an integer >= 2, got {value!r}.")
    if not model.observed_RVs:
        raise ValueError("The model has no observed variables: there is no p(x) to estimate.")
    if not model.free_RVs:
        raise ValueError("The model has no free (latent) variables; use model.compile_logp().")
    if not proposal_df > 2:
        raise ValueError(f"proposal_df must be > 2 (finite covariance), got {proposal_df!r}.")
    rng = np.random.default_rng(random_seed)
    mode = resolve_mode(mode)
    work = auxify(model, centering=0.0) if use_auxiliary else model
    dim = find_independent_dim(work, independent_dim, rng)
    if method == "auto":
        method = "smc" if latent_dim(work, dim) > AUTO_SMC_DIM else "importance"
    if n_samples is None:
        n_samples = {"ais": 256, "smc": 1024}.get(method, 2000)
    if method == "smc":
        log_z, stats = smc_log_evidence(
            work,
            n_particles=n_samples,
            n_runs=n_runs,
            n_moves=n_moves,
            n_leapfrog=n_leapfrog,
            threshold=threshold,
            rng=rng,
            mode=mode,
        )
        return _summarize_runs(log_z, stats, n_samples, time.perf_counter() - t0)
    if method == "ais":
        dim = None  # AIS estimates the whole log p(x) at once
        warnings.warn(
            "method='ais' is experimental: too short an annealing biases it low, and neither "
            "its se nor its k-hat shows that bias; check that doubling n_temps does not move "
            "the estimate.",
            UserWarning,
            stacklevel=2,
        )
        log_w, _ = ais_log_weights(
            work,
            n_particles=n_samples,
            n_temps=n_temps,
            n_leapfrog=n_leapfrog,
            rng=rng,
            mode=mode,
        )
    elif method == "prior":
        log_w = _prior_log_weights(work, n_samples, rng, dim, mode)
    else:
        log_w = _importance_log_weights(
            work, n_samples, rng, dim, posterior_draws, tune, proposal_df, step_kwargs, mode
        )
    return _summarize(log_w, method, n_samples, dim, time.perf_counter() - t0)


def _prior_log_weights(work, n_samples, rng, dim, mode) -> np.ndarray:
    """log p(x | latents) at prior draws of the latents: shape (S,) or (S, N)."""
    from pymc.model.transform.conditioning import remove_value_transforms

    plain = remove_value_transforms(work)
    free = plain.free_RVs
    draws = pm.draw(free, draws=n_samples, random_seed=rng)
    draws = draws if isinstance(draws, list) else [draws]
    values = [plain.rvs_to_values[rv] for rv in free]
    rvs = plain.observed_RVs + list(plain.potentials)
    return pointwise_fn(plain, rvs, values, dim, mode)(*draws)


def _importance_log_weights(work, n_samples, rng, dim, n_post, tune, df, step_kwargs, mode):
    """log p(x, u) - log q(u) at proposal draws u: shape (S,) or (S, N)."""
    kwargs = {"compile_kwargs": {"mode": mode}, **dict(step_kwargs or {})}
    chain = PersistentChain(work, step="nuts", rng=rng.spawn(1)[0], step_kwargs=kwargs)
    if tune:
        chain.sample(tune, tune=True)
    post, _ = chain.sample(n_post, tune=False)
    values = work.continuous_value_vars
    layout = Layout(work, values, dim)
    flat = layout.flatten([post[v.name] for v in values])  # (n_post, N, D)
    draws_u, log_q = student_t_proposal(flat, n_samples, df, rng)  # (S, N, D), (S, N)
    fn = pointwise_fn(work, work.basic_RVs + list(work.potentials), values, dim, mode)
    log_p = fn(*layout.unflatten(draws_u))
    return log_p - (log_q if dim is not None else log_q[:, 0])


def _summarize(log_w, method, n_samples, dim, seconds) -> LogMarginal:
    log_w = np.asarray(log_w, dtype=float).reshape(n_samples, -1)
    finite = np.where(np.isfinite(log_w), log_w, -np.inf)
    est = special.logsumexp(finite, axis=0) - np.log(n_samples)
    w = np.exp(finite - finite.max(axis=0))
    se = w.std(axis=0, ddof=1) / np.sqrt(n_samples) / w.mean(axis=0)
    ess = w.sum(axis=0) ** 2 / (w**2).sum(axis=0)
    khat = pareto_khat(finite)
    worst = float(np.max(khat))
    total_se = float(np.sqrt(np.sum(se**2)))
    if not worst <= KHAT_THRESHOLD:
        where = f" (worst of {len(khat)} points)" if dim is not None else ""
        warnings.warn(
            f"log p(x) by {method!r}: Pareto k-hat of the weights is {worst:.2f}{where} > "
            f"{KHAT_THRESHOLD}; the estimate is unreliable (likely too low) and its standard "
            "error meaningless, reported as NaN. Use more draws, method='smc', or check that "
            "the posterior is unimodal.",
            UnreliableEstimateWarning,
            stacklevel=3,
        )
        total_se = np.nan
    return LogMarginal(
        estimate=float(est.sum()),
        se=total_se,
        khat=worst,
        ess=float(ess.min()),
        method=method,
        n_samples=n_samples,
        independent_dim=dim,
        pointwise=est if dim is not None else None,
        pointwise_khat=khat if dim is not None else None,
        seconds=seconds,
    )


def _summarize_runs(log_z, stats, n_particles, seconds) -> LogMarginal:
    """log of the runs' mean Z; se from their spread (delta method); k-hat of the worst step."""
    n = len(log_z)
    est = special.logsumexp(log_z) - np.log(n)
    z = np.exp(log_z - np.max(log_z))
    se = float(z.std(ddof=1) / np.sqrt(n) / z.mean())
    khat = stats["khat"]
    reasons = smc_unreliable(log_z, stats, se, KHAT_THRESHOLD)
    if reasons:
        warnings.warn(
            f"log p(x) by 'smc': {'; '.join(reasons)}. The estimate is unreliable and its "
            "standard error is reported as NaN. Raise n_moves, n_leapfrog or n_samples.",
            UnreliableEstimateWarning,
            stacklevel=3,
        )
        se = np.nan
    return LogMarginal(
        estimate=float(est),
        se=se,
        khat=khat,
        ess=float(n_particles * min(stats["ess"])),
        method="smc",
        n_samples=n_particles,
        seconds=seconds,
        runs=np.asarray(log_z),
    )


__all__ = ["LogMarginal", "UnreliableEstimateWarning", "estimate_log_marginal"]
