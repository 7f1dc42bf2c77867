"""Advice about a run of the auxiliary form: what went wrong, for which variables, what to try."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import pymc as pm

from pytensor.graph.traversal import ancestors

from pymc_auxform.metrics import SamplingMetrics


class AuxformSamplingWarning(UserWarning):
    """The auxified model still samples badly (divergences or low ESS); the message says why."""


def advise(
    metrics: Mapping[str, SamplingMetrics],
    ess_bulk: pd.DataFrame,
    *,
    model: pm.Model,
    rewritten: Sequence[str],
    min_ess: float,
    partial: Sequence[str] = (),
) -> list[str]:
    """Messages about the auxiliary run of :func:`~pymc_auxform.compare_forms`, or ``[]``.

    One message if the auxiliary run had divergences, one if some original variables have a bulk
    ESS below ``min_ess`` in it. Each says what to try: if the original form mixed better and
    some rewritten variables hang below other latent variables, the data are probably
    informative about them, so keep them centered (``exclude=`` or partial centering); else
    raise ``target_accept`` or sample longer.

    Parameters
    ----------
    metrics : mapping
        ``{"original": SamplingMetrics, "auxiliary": SamplingMetrics}``.
    ess_bulk : pandas.DataFrame
        Min bulk ESS per original variable (index) and form (columns ``"original"``,
        ``"auxiliary"``), as in ``FormComparison.per_variable()["ess_bulk"]``.
    model : pm.Model
        The model as written.
    rewritten : sequence of str
        The variables ``auxify`` rewrote.
    min_ess : float
    partial : sequence of str, optional
        The rewritten variables kept partly centered (some ``lam`` above 0). With divergences
        the advice is the full auxiliary form: where a group scale is weakly identified, a
        partial form keeps a fraction of the funnel (``centering="auto"`` diverged on some
        seeds of a weakly identified logit model where ``centering=0.0`` did not, before it
        chose ``lam`` over the scale's posterior reach; a partly centered variable that diverges
        is one that rule did not catch).

    Returns
    -------
    list of str

    Examples
    --------
    .. code-block:: python

        res = compare_forms(model, warn=False)
        advise(res.metrics, res.per_variable()["ess_bulk"], model=model,
               rewritten=res.rewritten, min_ess=400)
    """
    o, a = metrics["original"], metrics["auxiliary"]
    low = [v for v in ess_bulk.index if ess_bulk.loc[v, "auxiliary"] < min_ess]
    candidates = hierarchical(model, rewritten)
    if candidates and a.min_ess_bulk < o.min_ess_bulk:
        hint = (
            f"the original form mixed better (min bulk ESS {o.min_ess_bulk:.0f} vs "
            f"{a.min_ess_bulk:.0f}), so the data are probably informative about "
            f"{candidates}: keep them centered with auxify(model, exclude={candidates}), "
            "or let auxify choose per element with its default centering='auto' (or give "
            "centering=... yourself)"
        )
    else:
        hint = "increase target_accept (e.g. pm.sample(target_accept=0.95)) or sample longer"
    out = []
    if a.divergences:
        why = hint
        if partial:
            why = (
                f"auxify(model, centering=0.0), the full auxiliary form ({list(partial)} are "
                "partly centered, which keeps part of a funnel where a group scale is weakly "
                f"identified); or {hint}"
            )
        out.append(
            f"The auxiliary form still had {a.divergences} divergences "
            f"(original form: {o.divergences}). Try: {why}."
        )
    if low:
        out.append(
            f"Low bulk ESS (< {min_ess:g}) in the auxiliary form for {low} "
            f"(worst: {a.worst}, {a.min_ess_bulk:.0f}). Try: {hint}."
        )
    return out


def hierarchical(model: pm.Model, names: Sequence[str]) -> list[str]:
    """Those of ``names`` whose distribution depends on other free variables of ``model``.

    Examples
    --------
    >>> with pm.Model() as m:
    ...     mu = pm.Normal("mu")
    ...     theta = pm.Normal("theta", mu, 1.0)
    >>> hierarchical(m, ["mu", "theta"])
    ['theta']
    """
    free = set(model.free_RVs)
    out = []
    for rv in model.free_RVs:
        if rv.name not in names:
            continue
        params = [i for i in rv.owner.inputs if i is not None]
        if any(v in free and v is not rv for v in ancestors(params)):
            out.append(rv.name)
    return out


__all__ = ["AuxformSamplingWarning", "advise", "hierarchical"]
