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

from pymc_auxform.reporting import REPORT_ATTR, AuxReport, find_report, report

NOISE_GROUP = "auxiliary_noise"
"""Name of the group that :func:`original_trace` moves the noise variables to."""

_SAMPLE_GROUPS = ("posterior", "prior", "warmup_posterior")


def original_trace(
    idata: xr.DataTree,
    aux_model: pm.Model | None = None,
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
    All other groups are kept as they are, and the report is stored as JSON in the trace's attrs
    (under ``REPORT_ATTR``), so the trace describes itself after a netcdf or zarr round trip.
    The input is not modified; calling it again on its own output changes nothing.

    Parameters
    ----------
    idata : xarray.DataTree
        What ``pm.sample`` (any sampler) returned for ``aux_model``, or a trace made by
        :func:`pymc_auxform.sample` / ``original_trace`` (also after saving and loading it).
    aux_model : pm.Model, optional
        The model made by :func:`~pymc_auxform.auxify` that was sampled (also after
        ``pm.do``). If omitted: the report stored in the trace's attrs, else the model of the
        ``with model:`` context.
    original : pm.Model, optional
        The model that was auxified. If given, check that the posterior holds every free
        variable of it with the right dims, so that it can be used with
        ``pm.sample_posterior_predictive(trace, model=original)`` and
        ``pm.compute_log_likelihood(trace, model=original)``; a ``ValueError`` names what is
        missing. The posterior then lists the variables in ``original``'s order.
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
        If no report is found (``aux_model`` was not made by ``auxify`` and the trace carries
        none), or ``original`` is given and the posterior lacks one of its free variables.

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
            trace = original_trace(idata, original=centered)  # aux from the context
        az.summary(trace)  # mu, tau, theta; the noise is in trace["auxiliary_noise"]
        pm.sample_posterior_predictive(trace, model=centered, extend_inferencedata=True)
        pm.compute_log_likelihood(trace, model=centered)
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(
            f"original_trace expects the DataTree returned by pm.sample, got {type(idata).__name__}."
            " Sample with return_inferencedata=True (the default)."
        )
    rep, aux_model = _report_of(idata, aux_model)
    noise = rep.all_noise_names
    out = idata.copy()
    for group in _SAMPLE_GROUPS:
        if group not in out.children:
            continue
        ds = out[group].to_dataset()
        present = [n for n in noise if n in ds.data_vars]
        target = noise_group if group == "posterior" else f"{noise_group}_{group}"
        if not present:
            if not keep_noise and target in out.children:
                del out[target]
            continue
        kept = ds.drop_vars(present)
        order_by = original if original is not None else aux_model
        out[group] = xr.DataTree(kept[_model_order(kept, order_by)])
        if keep_noise:
            out[target] = xr.DataTree(ds[present])
    out.attrs[REPORT_ATTR] = rep.to_json()
    if original is not None:
        check_handoff(out, original)
    return out


def _report_of(idata: xr.DataTree, aux_model: pm.Model | None) -> tuple[AuxReport, pm.Model | None]:
    """The report (and the model, if known) to split ``idata`` with."""
    if aux_model is not None:
        return report(aux_model), aux_model
    stored = find_report(idata)
    if stored is not None:
        return stored, None
    try:
        aux_model = pm.modelcontext(None)
    except TypeError:
        raise ValueError(
            "original_trace needs the auxified model: pass it (original_trace(idata, aux)), call "
            "it inside `with aux:`, or pass a trace made by pymc_auxform.sample, which carries "
            "the report."
        ) from None
    return report(aux_model), aux_model


def check_handoff(
    idata: xr.DataTree, original: pm.Model | None = None, *, group: str = "posterior"
) -> xr.DataTree:
    """Check that a trace can be used with ``original`` (posterior predictive, log likelihood).

    Every free variable of ``original`` must be in ``idata[group]`` with its dims.

    Parameters
    ----------
    idata : xarray.DataTree
    original : pm.Model, optional
        The model that was auxified; taken from the ``with model:`` context if omitted.
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
    original = pm.modelcontext(original)
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


def _model_order(ds: xr.Dataset, model: pm.Model | None) -> list[str]:
    """Data variables of ``ds`` in the order the model defines them (others last)."""
    if model is None:
        return list(ds.data_vars)
    order = [n for n in model.named_vars if n in ds.data_vars]
    return order + [n for n in ds.data_vars if n not in order]


__all__ = ["NOISE_GROUP", "REPORT_ATTR", "check_handoff", "original_trace"]
