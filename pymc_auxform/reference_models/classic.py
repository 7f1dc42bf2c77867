"""Eight schools and Neal's funnel, centered and hand-written non-centered."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

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

        aux = auxify(eight_schools(), centering=0.0)  # the pure rewrite, as the oracle
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

        aux = auxify(funnel(n=9), centering=0.0)
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


__all__ = ["EIGHT_SCHOOLS_SIGMA", "EIGHT_SCHOOLS_Y", "eight_schools", "funnel"]
