"""Radon-style hierarchical regressions on simulated data (varying intercepts and slopes)."""

from __future__ import annotations

import numpy as np
import pymc as pm


def simulate_hierarchical(
    n_groups: int = 20,
    obs_per_group: int | np.ndarray = 50,
    *,
    mu: float = 1.0,
    tau: float = 0.5,
    sigma: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a varying-intercept (radon-style) data set: returns ``(group index, y)``.

    Parameters
    ----------
    n_groups : int, default 20
        Number of groups.
    obs_per_group : int or array of int, default 50
        Observations per group (one number for all, or one per group).
    mu, tau : float
        Mean and spread of the group intercepts ``alpha_g ~ N(mu, tau)``.
    sigma : float, default 1.0
        Observation noise.
    seed : int, default 0
        Seed of the NumPy generator.

    Returns
    -------
    group : np.ndarray
        Group index of each observation (sorted by group).
    y : np.ndarray
        Observations ``y ~ N(alpha[group], sigma)``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.reference_models import simulate_hierarchical

        group, y = simulate_hierarchical(n_groups=5, obs_per_group=[1, 2, 3, 50, 100], seed=0)
        group.shape, y.shape  # (156,), (156,)
    """
    rng = np.random.default_rng(seed)
    counts = np.broadcast_to(np.asarray(obs_per_group), (n_groups,))
    alpha = mu + tau * rng.normal(size=n_groups)
    group = np.repeat(np.arange(n_groups), counts)
    y = alpha[group] + sigma * rng.normal(size=group.size)
    return group, y


def varying_intercepts(
    group: np.ndarray, y: np.ndarray, *, sigma: float | None = 1.0, noncentered: bool = False
) -> pm.Model:
    """Radon-style partial pooling: ``alpha_g ~ N(mu, tau)``, ``y ~ N(alpha[group], sigma)``.

    With many observations per group the data inform each ``alpha_g`` strongly and the centered
    form mixes better; with few, the auxiliary form does. ``sigma=None`` makes it a latent.

    Parameters
    ----------
    group : np.ndarray
        Group index (0-based) of each observation, e.g. from :func:`simulate_hierarchical`.
    y : np.ndarray
        Observations, same length as ``group``.
    sigma : float or None, default 1.0
        Known observation noise, or ``None`` for a latent ``sigma ~ HalfNormal(2)``.
    noncentered : bool, default False
        Return the hand-written auxiliary form (free ``alpha_eps``).

    Returns
    -------
    pm.Model
        A fresh model with dims ``"group"`` and ``"obs_id"`` and data ``group_idx``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, report
        from pymc_auxform.reference_models import simulate_hierarchical, varying_intercepts

        group, y = simulate_hierarchical(n_groups=20, obs_per_group=3, seed=0)
        model = varying_intercepts(group, y, sigma=None)
        print(report(auxify(model)))  # alpha partially centered; mu, tau, sigma standardized
    """
    n_groups = int(group.max()) + 1
    with pm.Model(coords={"group": np.arange(n_groups), "obs_id": np.arange(y.size)}) as model:
        g = pm.Data("group_idx", group, dims="obs_id")
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 2.0)
        if noncentered:
            alpha_eps = pm.Normal("alpha_eps", dims="group")
            alpha = pm.Deterministic("alpha", mu + tau * alpha_eps, dims="group")
        else:
            alpha = pm.Normal("alpha", mu, tau, dims="group")
        s = pm.HalfNormal("sigma", 2.0) if sigma is None else sigma
        pm.Normal("y", alpha[g], s, observed=y, dims="obs_id")
    return model


RADON_KINDS = ("intercept", "slope", "both", "predictor")


def radon_style(
    kind: str = "intercept", n_rows: int = 1000, n_groups: int = 85, *, seed: int = 0
) -> pm.Model:
    r"""A radon-style multilevel regression on simulated data, shaped like what users fit.

    Group sizes are very unequal (log-normal, at least 1 row, the largest 100+ when the data
    allow), each row has a binary predictor ``x`` (the floor) and each group a predictor ``u``
    (log uranium). ``kind`` picks the model, all with ``sigma ~ HalfNormal(1)``:

    * ``"intercept"``: ``alpha_g ~ N(mu_a, tau_a)``, ``y ~ N(alpha[g] + beta x, sigma)``;
    * ``"slope"``: ``beta_g ~ N(mu_b, tau_b)``, ``y ~ N(a + beta[g] x, sigma)``;
    * ``"both"``: varying intercepts and slopes (independent priors);
    * ``"predictor"``: ``alpha_g ~ N(g_0 + g_1 u_g, tau_a)`` (partial pooling with a group-level
      predictor: ``g_1`` couples to every intercept).

    Parameters
    ----------
    kind : {"intercept", "slope", "both", "predictor"}
    n_rows, n_groups : int
        Rows and groups; every group has at least one row.
    seed : int, default 0
        Seed of the simulated data.

    Returns
    -------
    pm.Model
        A fresh model, written centered, with dims ``"group"`` and ``"obs_id"``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``n_rows < n_groups``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify
        from pymc_auxform.reference_models import radon_style

        model = radon_style("predictor", n_rows=919, n_groups=85, seed=1)
        aux = auxify(model)  # centering="auto": lam per county
    """
    if kind not in RADON_KINDS:
        raise ValueError(f"kind must be one of {RADON_KINDS}, got {kind!r}.")
    if n_rows < n_groups:
        raise ValueError(f"need n_rows >= n_groups, got {n_rows} < {n_groups}.")
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.3, size=n_groups)
    counts = 1 + rng.multinomial(n_rows - n_groups, weights / weights.sum())
    group = np.repeat(np.arange(n_groups), counts)
    x = (rng.uniform(size=group.size) < 0.7).astype(float)
    u = rng.normal(size=n_groups)
    alpha = 1.4 + (
        0.7 * u + 0.15 * rng.normal(size=n_groups)
        if kind == "predictor"
        else 0.3 * rng.normal(size=n_groups)
    )
    beta = -0.6 + (0.2 * rng.normal(size=n_groups) if kind in ("slope", "both") else 0.0)
    y = (
        alpha[group]
        + np.broadcast_to(beta, (n_groups,))[group] * x
        + 0.75 * rng.normal(size=group.size)
    )
    coords = {"group": np.arange(n_groups), "obs_id": np.arange(group.size)}
    with pm.Model(coords=coords) as model:
        g = pm.Data("group_idx", group, dims="obs_id")
        floor = pm.Data("floor", x, dims="obs_id")
        if kind == "predictor":
            gamma = pm.Normal("gamma", 0.0, 10.0, shape=2)
            tau_a = pm.HalfNormal("tau_a", 1.0)
            intercept = pm.Normal("alpha", gamma[0] + gamma[1] * u, tau_a, dims="group")[g]
        elif kind in ("intercept", "both"):
            mu_a = pm.Normal("mu_a", 0.0, 10.0)
            tau_a = pm.HalfNormal("tau_a", 1.0)
            intercept = pm.Normal("alpha", mu_a, tau_a, dims="group")[g]
        else:
            intercept = pm.Normal("a", 0.0, 10.0)
        if kind in ("slope", "both"):
            mu_b = pm.Normal("mu_b", 0.0, 10.0)
            tau_b = pm.HalfNormal("tau_b", 1.0)
            slope = pm.Normal("beta", mu_b, tau_b, dims="group")[g]
        else:
            slope = pm.Normal("beta", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", intercept + slope * floor, sigma, observed=y, dims="obs_id")
    return model


def hierarchical_glm(kind: str, n_rows: int, n_groups: int, *, seed: int) -> pm.Model:
    """A varying-intercept regression with a Bernoulli or Poisson likelihood, on simulated data.

    Intercepts ``alpha ~ N(mu, tau)`` per group (log-normal group sizes, at least one row each),
    ``mu ~ N(0, 2)``, ``tau ~ HalfNormal(1)``, and a slope ``b ~ N(0, 1)`` on a standard-normal
    predictor; data simulated with ``mu = -0.5``, ``tau = 0.8``, ``b = 0.7``.

    Parameters
    ----------
    kind : {"logit", "poisson"}
        Bernoulli with a logit link, or Poisson with a log link.
    n_rows, n_groups : int
        Rows and groups.
    seed : int
        Seed of the NumPy generator.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify
        from pymc_auxform.reference_models import hierarchical_glm

        model = hierarchical_glm("logit", 300, 40, seed=5)  # weakly identified tau
        aux = auxify(model)
    """
    if kind not in ("logit", "poisson"):
        raise ValueError(f"kind must be 'logit' or 'poisson', got {kind!r}.")
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, rng.lognormal(np.log(n_rows / n_groups), 1.0, n_groups).astype(int))
    group = np.repeat(np.arange(n_groups), sizes)[:n_rows]
    x = rng.normal(size=group.size)
    eta = -0.5 + rng.normal(0, 0.8, n_groups)[group] + 0.7 * x
    if kind == "logit":
        y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    else:
        y = rng.poisson(np.exp(eta))
    with pm.Model(coords={"group": range(n_groups)}) as model:
        mu = pm.Normal("mu", 0, 2)
        tau = pm.HalfNormal("tau", 1)
        b = pm.Normal("b", 0, 1)
        alpha = pm.Normal("alpha", mu, tau, dims="group")
        linear = alpha[group] + b * x
        if kind == "logit":
            pm.Bernoulli("y", logit_p=linear, observed=y)
        else:
            pm.Poisson("y", pm.math.exp(linear), observed=y)
    return model


__all__ = [
    "RADON_KINDS",
    "hierarchical_glm",
    "radon_style",
    "simulate_hierarchical",
    "varying_intercepts",
]
