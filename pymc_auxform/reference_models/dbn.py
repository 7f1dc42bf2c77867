"""Kingma's (2013) dynamic Bayes net, written as a Python loop and with ``pytensor.scan``."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.pytensorf import collect_default_updates


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


__all__ = ["dbn", "dbn_params", "simulate_dbn"]
