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
    """Rubin's eight schools: ``mu ~ N(0, 5)``, ``tau ~ HalfCauchy(5)``, ``theta ~ N(mu, tau)``."""
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
    """Neal's funnel: ``v ~ N(0, 3)``, ``x_i ~ N(0, exp(v / 2))``, ``i = 1..n``."""
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
    """Fixed weights of the seed's DBN (transition ``W_z, b_z``; emission ``W_x, b_x``)."""
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
    """Draw ``(z, x)`` from the DBN with the weights of :func:`dbn_params` (same ``seed``)."""
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
    """Simulate a varying-intercept (radon-style) data set: returns ``(group index, y)``."""
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
