"""``auxify``: rewrite a PyMC model in auxiliary (non-centered) form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pymc as pm

from pytensor.graph.basic import Variable

from pymc_auxform.centering import _choose_with_model
from pymc_auxform.reporting import attach_report, find_report
from pymc_auxform.rewrite import parse_centering, resolve_names, rewrite_model

VarLike = str | Variable


def auxify(
    model: pm.Model | None = None,
    var_names: VarLike | Sequence[VarLike] | None = None,
    *,
    exclude: VarLike | Sequence[VarLike] | None = None,
    centering: float | Mapping[str, float | np.ndarray] | str = "auto",
) -> pm.Model:
    r"""Rewrite a model's continuous latent variables in auxiliary form (Kingma, 2013).

    Each free variable :math:`z \sim p(z \mid \mathrm{pa})` that has a registered form becomes a
    Deterministic :math:`z = g(\mathrm{pa}, \epsilon)` of a new free noise variable
    :math:`\epsilon` (loc-scale: :math:`z = \mu + \sigma\epsilon`). The joint distribution of the
    original variables is unchanged, but gradient-based samplers (NUTS, HMC) mix much faster on
    :math:`\epsilon` for hierarchical, deep and recurrent models. Where the data pin a variable
    down, the form as written mixes faster; by default (``centering="auto"``) each variable and
    element gets the form its data call for, and ``centering=0.0`` rewrites them all.

    Parameters
    ----------
    model : pm.Model, optional
        The model to rewrite. It is not modified. Taken from the ``with model:`` context if
        omitted.
    var_names : str, Variable or sequence of them, optional
        Rewrite only these free variables. Each must exist, be a continuous free variable and
        have a form, else a ``ValueError`` says why. By default every free continuous variable
        with a form is a candidate (``centering`` decides whether it is rewritten or kept as
        written) and the others are left as they are (see :func:`report`).
    exclude : str, Variable or sequence of them, optional
        Never rewrite these.
    centering : "auto", float or dict of name to float or array, default "auto"
        Partial centering :math:`\lambda \in [0, 1]` (Gorinova, Moore & Hoffman, 2020) for the
        forms that define it: 0 is the full auxiliary form, 1 leaves the variable centered (as
        written).

        * ``"auto"`` (the default) chooses it per variable and per element
          (:func:`~pymc_auxform.choose_centering`): centered (1), auxiliary (0) or partial, from
          the ratio of the likelihood information to the prior information of each element's
          noise at a pilot point. Root variables whose parameters are constants
          (``mu ~ N(0, 5)``) are kept as written (1): any form only rescales them. The pilot
          costs from a tenth of a second to a few seconds and is deterministic (seeded); the
          report says why each variable got its :math:`\lambda`, with the numbers. If the pilot
          fails, a warning says so and the variables it would have decided are kept as written.
          The auxiliary form wins on weakly informed hierarchies, funnels and deep or recurrent
          models; the model as written wins where the data pin each group down, and "auto"
          picks per element (``benchmarks/results/centering.md``).
        * ``0.0`` is the pure, data-free rewrite: every variable that has a form in full
          auxiliary form, instantly and without looking at the data.
        * Any other float applies to all rewritten variables; a dict gives a value per variable
          (others get 0), scalar or one per element (broadcast against the variable's shape).

    Returns
    -------
    pm.Model
        A new model. Every original variable keeps its name and dims (free variables that were
        rewritten become Deterministics); each rewritten variable ``x`` gets a noise variable named
        ``x_eps`` with the same dims (``x_eps_1``, ... if that name is taken). What was rewritten,
        by which form, and what was left and why: ``pymc_auxform.report(new_model)``.

    Raises
    ------
    TypeError
        If ``model`` is not a ``pm.Model``.
    ValueError
        If a name is unknown, or names a variable that cannot be rewritten (observed, discrete,
        Deterministic, no form for its distribution), if ``centering`` is out of range, or if
        the model was already made by ``auxify``.

    Warns
    -----
    UserWarning
        With ``centering="auto"``, if the pilot fails (the variables it would have decided are
        then kept as written) or its :math:`\lambda` has not settled.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import auxify, report

        y = np.array([28, 8, -3, 7, -1, 1, 18, 12])
        sigma = np.array([15, 10, 16, 11, 9, 11, 10, 18])
        with pm.Model(coords={"school": np.arange(8)}) as centered:
            mu = pm.Normal("mu", 0, 5)
            tau = pm.HalfCauchy("tau", 5)
            theta = pm.Normal("theta", mu, tau, dims="school")
            pm.Normal("y", theta, sigma, observed=y, dims="school")

        aux = auxify(centered)  # theta = mu + tau * theta_eps; mu = 5 * mu_eps, ...
        print(report(aux))  # and why: the data say little about each school's theta
        with aux:
            idata = pm.sample(random_seed=1)  # posterior has mu, tau, theta (+ *_eps)

        pure = auxify(centered, centering=0.0)  # the pure rewrite: here the same model
    """
    if model is None:
        model = pm.modelcontext(None)
    if not isinstance(model, pm.Model):
        raise TypeError(f"auxify expects a pymc.Model, got {type(model).__name__}.")
    previous = find_report(model)
    if previous is not None:
        raise ValueError(
            "This model was already made by auxify (noise variables "
            f"{previous.all_noise_names}); pass the original model instead. To change which "
            "variables are rewritten, call auxify on the original with var_names=/exclude=."
        )

    free_names = [rv.name for rv in model.free_RVs]
    wanted = None if var_names is None else resolve_names(model, var_names, "var_names")
    excluded = [] if exclude is None else resolve_names(model, exclude, "exclude")
    if wanted is not None:
        both = sorted(set(wanted) & set(excluded))
        if both:
            raise ValueError(f"{both} are both in var_names and in exclude; keep them in one.")
    if isinstance(centering, str):
        if centering != "auto":
            raise ValueError(f"centering must be a number, a dict or 'auto', got {centering!r}.")
        return _auxify_auto(model, wanted, excluded, free_names)
    lams = parse_centering(centering, free_names)
    new_model, _ = rewrite_model(model, var_names=wanted, exclude=excluded, lams=lams)
    return new_model


def _auxify_auto(model, wanted, excluded, free_names) -> pm.Model:
    """``auxify`` with ``centering="auto"``. When every chosen ``lam`` is 0, the model the choice
    was read off is already the answer (the same rewrite, ``lam`` 0 everywhere): only the report's
    ``why`` lines and the choice are added, and the model is not rewritten a second time."""
    choice, (aux, rep) = _choose_with_model(model, var_names=wanted, exclude=excluded or None)
    why = {name: d.why() for name, d in choice.decisions.items()}
    if all(_is_scalar_zero(lam) for lam in choice.lam.values()):
        # as rewrite_model fills them: the variables left never get a decision, so no line
        rep.rewritten = [replace(r, why=why.get(r.name, "")) for r in rep.rewritten]
        attach_report(aux, rep)
        new_model = aux
    else:
        lams = parse_centering(choice.lam, free_names)
        # the choice's arrays have their variables' shapes (read off the initial point)
        new_model, rep = rewrite_model(
            model, var_names=wanted, exclude=excluded, lams=lams, why=why, check_lam_shapes=False
        )
    rep.centering = choice
    return new_model


def _is_scalar_zero(lam) -> bool:
    """A decision of exactly 0 (per-element decisions that all agree are already one float)."""
    return np.ndim(lam) == 0 and float(lam) == 0.0


__all__ = ["auxify"]
