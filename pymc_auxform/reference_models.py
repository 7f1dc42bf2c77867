"""Reference models used by the tests, examples, benchmarks and docs.

Each builder returns a fresh ``pm.Model``. ``centered`` models are written the natural way (what a
user would give to :func:`~pymc_auxform.auxify`); ``noncentered`` builders are the hand-written
auxiliary forms that serve as oracles: their free variables are named like the noise variables
``auxify`` creates (``"{name}_eps"``) so that log densities can be compared point by point.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.pytensorf import collect_default_updates

EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools(*, noncentered: bool = False) -> pm.Model:
    """Rubin's eight schools: ``mu ~ N(0, 5)``, ``tau ~ HalfCauchy(5)``, ``theta ~ N(mu, tau)``.

    Parameters
    ----------
    noncentered : bool, default False
        Return the hand-written auxiliary form (free ``mu_eps``, ``tau_eps``, ``theta_eps``;
        ``mu``, ``tau``, ``theta`` are Deterministics) instead of the centered model.

    Returns
    -------
    pm.Model
        A fresh model with dims ``"school"`` and observed ``y``.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        from pymc_auxform import auxify
        from pymc_auxform.reference_models import eight_schools

        aux = auxify(eight_schools())
        oracle = eight_schools(noncentered=True)
        point = oracle.initial_point()
        np.isclose(aux.compile_logp()(point), oracle.compile_logp()(point))  # True
    """
    coords = {"school": [f"s{i}" for i in range(8)]}
    with pm.Model(coords=coords) as model:
        if noncentered:
            mu_eps = pm.Normal("mu_eps")
            tau_eps = pm.HalfCauchy("tau_eps", 1.0)
            theta_eps = pm.Normal("theta_eps", dims="school")
            mu = pm.Deterministic("mu", 5.0 * mu_eps)
            tau = pm.Deterministic("tau", 5.0 * tau_eps)
            theta = pm.Deterministic("theta", mu + tau * theta_eps, dims="school")
        else:
            mu = pm.Normal("mu", 0.0, 5.0)
            tau = pm.HalfCauchy("tau", 5.0)
            theta = pm.Normal("theta", mu, tau, dims="school")
        pm.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y, dims="school")
    return model


def funnel(n: int = 9, *, noncentered: bool = False) -> pm.Model:
    """Neal's funnel: ``v ~ N(0, 3)``, ``x_i ~ N(0, exp(v / 2))``, ``i = 1..n``.

    Parameters
    ----------
    n : int, default 9
        Number of ``x`` variables (dims ``"i"``).
    noncentered : bool, default False
        Return the hand-written auxiliary form (free ``v_eps``, ``x_eps``).

    Returns
    -------
    pm.Model
        A fresh model with no observed data.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, report
        from pymc_auxform.reference_models import funnel

        aux = auxify(funnel(n=9))
        report(aux).all_noise_names  # ['v_eps', 'x_eps']
    """
    with pm.Model(coords={"i": np.arange(n)}) as model:
        if noncentered:
            v_eps = pm.Normal("v_eps")
            x_eps = pm.Normal("x_eps", dims="i")
            v = pm.Deterministic("v", 3.0 * v_eps)
            pm.Deterministic("x", pt.exp(v / 2) * x_eps, dims="i")
        else:
            v = pm.Normal("v", 0.0, 3.0)
            pm.Normal("x", 0.0, pt.exp(v / 2), dims="i")
    return model


def dbn_params(latent_dim: int = 10, obs_dim: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Fixed weights of the seed's DBN (transition ``W_z, b_z``; emission ``W_x, b_x``).

    Parameters
    ----------
    latent_dim : int, default 10
        Size of each latent state ``z_t``.
    obs_dim : int, default 1
        Number of binary observations per step.
    seed : int, default 0
        Seed of the NumPy generator that draws the weights.

    Returns
    -------
    dict of str to np.ndarray
        ``W_z`` (latent, latent), ``b_z`` (latent,), ``W_x`` (obs, latent), ``b_x`` (obs,).

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.reference_models import dbn_params

        p = dbn_params(latent_dim=4, obs_dim=2, seed=0)
        p["W_z"].shape, p["W_x"].shape  # (4, 4), (2, 4)
    """
    rng = np.random.default_rng(seed)
    return {
        "W_z": rng.normal(0.0, 1.5 / np.sqrt(latent_dim), size=(latent_dim, latent_dim)),
        "b_z": rng.normal(0.0, 0.1, size=latent_dim),
        "W_x": rng.normal(0.0, 2.0, size=(obs_dim, latent_dim)),
        "b_x": rng.normal(0.0, 0.1, size=obs_dim),
    }


def simulate_dbn(
    steps: int = 20, latent_dim: int = 10, obs_dim: int = 1, sigma_z: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(z, x)`` from the DBN with the weights of :func:`dbn_params` (same ``seed``).

    Parameters
    ----------
    steps : int, default 20
        Number of time steps.
    latent_dim, obs_dim : int
        Sizes of the latent state and of the observation, as in :func:`dbn_params`.
    sigma_z : float, default 0.1
        Standard deviation of the transition noise.
    seed : int, default 0
        Seed of the weights; the draws use ``seed + 1``.

    Returns
    -------
    z : np.ndarray
        Latent states, shape ``(steps, latent_dim)``.
    x : np.ndarray
        Binary (int64) observations, shape ``(steps, obs_dim)``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.reference_models import simulate_dbn

        z, x = simulate_dbn(steps=20, latent_dim=4, obs_dim=2, seed=0)
        z.shape, x.shape  # (20, 4), (20, 2); x is 0/1
    """
    p = dbn_params(latent_dim, obs_dim, seed)
    rng = np.random.default_rng(seed + 1)
    z = np.zeros((steps, latent_dim))
    z[0] = rng.normal(size=latent_dim)
    for t in range(1, steps):
        z[t] = np.tanh(p["W_z"] @ z[t - 1] + p["b_z"]) + sigma_z * rng.normal(size=latent_dim)
    prob = 1 / (1 + np.exp(-(z @ p["W_x"].T + p["b_x"])))
    x = (rng.uniform(size=prob.shape) < prob).astype("int64")
    return z, x


def dbn(
    steps: int = 20,
    latent_dim: int = 10,
    obs_dim: int = 1,
    *,
    sigma_z: float = 0.1,
    form: str = "loop",
    noncentered: bool = False,
    seed: int = 0,
    x: np.ndarray | None = None,
) -> pm.Model:
    r"""The seed's dynamic Bayes net (Kingma 2013, slide "Experiment: DBN").

    .. math::

        z_1 \sim N(0, I),\quad z_{j+1} \sim N(\tanh(W_z z_j + b_z), \sigma_z I),\quad
        p(x_{j,i} = 1 \mid z_j) = \mathrm{sigmoid}(w_i^\top z_j + b_i).

    The weights are ``pm.Data`` (``W_z``, ``b_z``, ``W_x``, ``b_x``) so that they can be learned
    with :func:`~pymc_auxform.stochastic_em`. ``form="loop"`` writes one variable per step
    (``z_0 ... z_{T-1}``, each with dims ``"latent"``); ``form="scan"`` writes ``z_0`` and the
    transitions as one ``pm.CustomDist`` ``z`` (dims ``("trans", "latent")``, steps 1..T-1) whose
    ``dist`` is a ``pytensor.scan``.
    ``noncentered=True`` (loop form only) gives the hand-written auxiliary form.

    Parameters
    ----------
    steps : int, default 20
        Number of time steps ``T``.
    latent_dim, obs_dim : int
        Sizes of the latent state and of the observation, as in :func:`dbn_params`.
    sigma_z : float, default 0.1
        Standard deviation of the transitions.
    form : {"loop", "scan"}, default "loop"
        How the chain is written (see above).
    noncentered : bool, default False
        Hand-written auxiliary form (``form="loop"`` only): free ``z_t_eps`` for ``t >= 1``.
    seed : int, default 0
        Seed of the weights (:func:`dbn_params`) and of the simulated data.
    x : np.ndarray, optional
        Observations, shape ``(steps, obs_dim)``; simulated with :func:`simulate_dbn` if omitted.

    Returns
    -------
    pm.Model
        A fresh model.

    Raises
    ------
    ValueError
        If ``form`` is unknown, or ``noncentered=True`` with ``form="scan"``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, report
        from pymc_auxform.reference_models import dbn

        model = dbn(steps=10, latent_dim=3, form="scan")
        print(report(auxify(model)))  # z: innovations form, noise z_eps; z_0 is N(0, 1) already
    """
    if form not in ("loop", "scan"):
        raise ValueError(f"form must be 'loop' or 'scan', got {form!r}")
    p = dbn_params(latent_dim, obs_dim, seed)
    if x is None:
        _, x = simulate_dbn(steps, latent_dim, obs_dim, sigma_z, seed)
    coords = {
        "step": np.arange(steps),
        "trans": np.arange(1, steps),
        "latent": np.arange(latent_dim),
        "obs": np.arange(obs_dim),
    }
    with pm.Model(coords=coords) as model:
        W_z = pm.Data("W_z", p["W_z"])
        b_z = pm.Data("b_z", p["b_z"])
        W_x = pm.Data("W_x", p["W_x"])
        b_x = pm.Data("b_x", p["b_x"])
        if form == "loop":
            z_prev = None
            for t in range(steps):
                loc = 0.0 if t == 0 else pt.tanh(pt.dot(W_z, z_prev) + b_z)
                scale = 1.0 if t == 0 else sigma_z
                if noncentered and t > 0:
                    eps = pm.Normal(f"z_{t}_eps", dims="latent")
                    z_t = pm.Deterministic(f"z_{t}", loc + scale * eps, dims="latent")
                else:
                    z_t = pm.Normal(f"z_{t}", loc, scale, dims="latent")
                logit = pt.dot(W_x, z_t) + b_x
                pm.Bernoulli(f"x_{t}", logit_p=logit, observed=x[t], dims="obs")
                z_prev = z_t
        else:
            if noncentered:
                raise ValueError("noncentered=True is only written for form='loop'")
            z_0 = pm.Normal("z_0", 0.0, 1.0, dims="latent")
            z_rest = pm.CustomDist(
                "z",
                z_0,
                W_z,
                b_z,
                sigma_z,
                steps - 1,
                dist=_dbn_chain_dist,
                dims=("trans", "latent"),
            )
            z = pt.concatenate([z_0[None], z_rest], axis=0)
            pm.Bernoulli("x", logit_p=pt.dot(z, W_x.T) + b_x, observed=x, dims=("step", "obs"))
    return model


def _dbn_chain_dist(z_0, W_z, b_z, sigma_z, n_trans, size):
    """The DBN transitions as a scan: ``z_t ~ N(tanh(W z_{t-1} + b), sigma_z)``, ``t = 1..T-1``."""

    def step(z_prev, W_z, b_z, sigma_z):
        z_next = pm.Normal.dist(pt.tanh(pt.dot(W_z, z_prev) + b_z), sigma_z)
        return z_next, collect_default_updates([z_next])

    rest, _ = pytensor.scan(
        step,
        outputs_info=[z_0],
        non_sequences=[W_z, b_z, sigma_z],
        n_steps=n_trans,
        strict=True,
        return_updates=True,
    )
    return rest


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
        print(report(auxify(model)))  # mu, tau, alpha and sigma rewritten
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


__all__ = [
    "EIGHT_SCHOOLS_SIGMA",
    "EIGHT_SCHOOLS_Y",
    "dbn",
    "dbn_params",
    "eight_schools",
    "funnel",
    "simulate_dbn",
    "simulate_hierarchical",
    "varying_intercepts",
]


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
        aux = auxify(model, centering="auto")
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


__all__ = [*__all__, "RADON_KINDS", "radon_style"]
