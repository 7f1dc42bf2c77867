"""Traces of an auxified model that read like traces of the original model.

A model made by :func:`~pymc_auxform.auxify` keeps every original variable under its own name
(rewritten ones become Deterministics), so ``pm.sample`` already stores them in the posterior
group. It also stores the noise variables (``x_eps``, ...). :func:`original_trace` moves those to
a separate group, ``"auxiliary_noise"``, so that the posterior group holds exactly the variables of
the original model: ``az.summary``, ``az.ess``, ``az.rhat`` and arviz-plots then show the original
names, dims and coords, and the trace can be handed to the *original* model
(``pm.sample_posterior_predictive(trace, model=original)``, ``pm.compute_log_likelihood(trace,
model=original)``).

Notes
-----
``sample_stats["lp"]`` (and nutpie's ``logp``) is the log density of the auxified model, that is
of the noise variables, not of the original variables.
"""

from __future__ import annotations

import pymc as pm
import xarray as xr

from pymc_auxform.report import report

NOISE_GROUP = "auxiliary_noise"
"""Name of the group that :func:`original_trace` moves the noise variables to."""

_SAMPLE_GROUPS = ("posterior", "prior", "warmup_posterior")


def original_trace(
    idata: xr.DataTree,
    aux_model: pm.Model,
    *,
    original: pm.Model | None = None,
    keep_noise: bool = True,
    noise_group: str = NOISE_GROUP,
) -> xr.DataTree:
    """Return a copy of a trace of an auxified model that reads like a trace of the original.

    The noise variables of ``aux_model`` (see :func:`~pymc_auxform.report`) are moved out of the
    ``posterior`` group (and of ``prior`` and ``warmup_posterior`` when present) into
    ``noise_group`` (``"auxiliary_noise"``; ``"auxiliary_noise_prior"``, ... for the other
    groups), so the posterior holds the original variables under their names, dims and coords.
    All other groups are kept as they are. The input is not modified.

    Parameters
    ----------
    idata : xarray.DataTree
        What ``pm.sample`` (any sampler) returned for ``aux_model``.
    aux_model : pm.Model
        The model made by :func:`~pymc_auxform.auxify` that was sampled.
    original : pm.Model, optional
        The model that was auxified. If given, check that the posterior holds every free
        variable of it with the right dims, so that it can be used with
        ``pm.sample_posterior_predictive(trace, model=original)`` and
        ``pm.compute_log_likelihood(trace, model=original)``; a ``ValueError`` names what is
        missing.
    keep_noise : bool, default True
        Keep the noise variables in ``noise_group``; ``False`` drops them.
    noise_group : str, default "auxiliary_noise"
        Where the noise variables of the posterior go.

    Returns
    -------
    xarray.DataTree

    Raises
    ------
    TypeError
        If ``idata`` is not a DataTree (``return_inferencedata=False`` traces are not supported).
    ValueError
        If ``aux_model`` was not made by ``auxify``, or ``original`` is given and the posterior
        lacks one of its free variables.

    Examples
    --------
    .. code-block:: python

        import arviz as az
        import pymc as pm
        from pymc_auxform import auxify, original_trace
        from pymc_auxform.reference_models import eight_schools

        centered = eight_schools()
        aux = auxify(centered)
        with aux:
            idata = pm.sample(random_seed=1)
        trace = original_trace(idata, aux, original=centered)
        az.summary(trace)  # mu, tau, theta; the noise is in trace["auxiliary_noise"]
        pm.sample_posterior_predictive(trace, model=centered, extend_inferencedata=True)
        pm.compute_log_likelihood(trace, model=centered)
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(
            f"original_trace expects the DataTree returned by pm.sample, got {type(idata).__name__}."
            " Sample with return_inferencedata=True (the default)."
        )
    noise = noise_names(aux_model)
    out = idata.copy()
    for group in _SAMPLE_GROUPS:
        if group not in out.children:
            continue
        ds = out[group].to_dataset()
        present = [n for n in noise if n in ds.data_vars]
        if not present:
            continue
        kept = ds.drop_vars(present)
        out[group] = xr.DataTree(kept[_model_order(kept, aux_model)])
        if keep_noise:
            target = noise_group if group == "posterior" else f"{noise_group}_{group}"
            out[target] = xr.DataTree(ds[present])
    if original is not None:
        check_handoff(out, original)
    return out


def noise_names(aux_model: pm.Model) -> list[str]:
    """Names of the noise variables that :func:`~pymc_auxform.auxify` added to ``aux_model``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, noise_names
        from pymc_auxform.reference_models import eight_schools

        noise_names(auxify(eight_schools()))  # ['mu_eps', 'tau_eps', 'theta_eps']
    """
    return list(report(aux_model).all_noise_names)


def check_handoff(
    idata: xr.DataTree, original: pm.Model, *, group: str = "posterior"
) -> xr.DataTree:
    """Check that a trace can be used with ``original`` (posterior predictive, log likelihood).

    Every free variable of ``original`` must be in ``idata[group]`` with its dims.

    Parameters
    ----------
    idata : xarray.DataTree
    original : pm.Model
    group : str, default "posterior"

    Returns
    -------
    xarray.DataTree
        ``idata`` itself, so the call can be chained.

    Raises
    ------
    ValueError
        Naming the free variables that are missing or have other dims, and what to do.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify, check_handoff
        from pymc_auxform.reference_models import eight_schools

        centered = eight_schools()
        with auxify(centered):
            idata = pm.sample(random_seed=1)
        check_handoff(idata, centered)  # passes: mu, tau, theta are in the posterior
    """
    if group not in idata.children:
        raise ValueError(f"The trace has no {group!r} group; sample the model first.")
    ds = idata[group].to_dataset()
    missing, wrong = _missing_and_wrong_dims(ds, original)
    if missing or wrong:
        parts = []
        if missing:
            parts.append(f"missing free variables {missing}")
        if wrong:
            parts.append(f"variables with other dims {wrong}")
        raise ValueError(
            f"The {group!r} group cannot be used with the original model: "
            + "; ".join(parts)
            + ". Sample the auxified model without `var_names=` (or include these names), "
            "and pass the model that was given to auxify."
        )
    return idata


def _missing_and_wrong_dims(ds: xr.Dataset, original: pm.Model) -> tuple[list, list]:
    missing, wrong = [], []
    for rv in original.free_RVs:
        if rv.name not in ds.data_vars:
            missing.append(rv.name)
            continue
        dims = tuple(original.named_vars_to_dims.get(rv.name) or ())
        have = tuple(d for d in ds[rv.name].dims if d not in ("chain", "draw"))
        if dims and have != dims:
            wrong.append(f"{rv.name}: {have} != {dims}")
    return missing, wrong


def _model_order(ds: xr.Dataset, model: pm.Model) -> list[str]:
    """Data variables of ``ds`` in the order the model defines them (others last)."""
    order = [n for n in model.named_vars if n in ds.data_vars]
    return order + [n for n in ds.data_vars if n not in order]


__all__ = ["NOISE_GROUP", "check_handoff", "noise_names", "original_trace"]
