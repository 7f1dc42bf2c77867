"""Figures that compare the original and the auxiliary form: one labelled ArviZ figure each.

Both traces are stacked along a ``form`` dimension (:func:`stack_forms`) and drawn by
arviz-plots with the form mapped to colour, so both forms share one figure, one set of axes per
variable element, and one legend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr

FORM_DIM = "form"
"""Name of the dimension that :func:`stack_forms` adds."""

_SAMPLE_DIMS = ("chain", "draw")


def stack_forms(
    traces: Mapping[str, xr.DataTree], var_names: Sequence[str], *, group: str = "posterior"
) -> xr.DataTree:
    """One trace whose ``group`` holds ``var_names`` of every trace, stacked along ``form``.

    The traces must have the same chains and draws (as the runs of
    :func:`~pymc_auxform.compare_forms` do).

    Parameters
    ----------
    traces : mapping of str to xarray.DataTree
        ``{form name: trace}``; the keys become the coordinate of the ``form`` dimension.
    var_names : sequence of str
        Variables present in every trace's ``group``.
    group : str, default "posterior"

    Returns
    -------
    xarray.DataTree
        With only ``group``; its variables have dims ``(form, chain, draw, ...)``.

    Raises
    ------
    ValueError
        If a trace lacks one of ``var_names``, or the traces differ in chains or draws.

    Examples
    --------
    >>> import numpy as np
    >>> def trace(seed):
    ...     x = np.random.default_rng(seed).normal(size=(2, 50))
    ...     return xr.DataTree.from_dict({"posterior": xr.Dataset({"x": (("chain", "draw"), x)})})
    >>> both = stack_forms({"original": trace(0), "auxiliary": trace(1)}, ["x"])
    >>> both["posterior"]["x"].dims
    ('form', 'chain', 'draw')
    """
    parts = []
    for form, idata in traces.items():
        ds = idata[group].to_dataset()
        missing = [n for n in var_names if n not in ds.data_vars]
        if missing:
            raise ValueError(f"The {form!r} trace has no {missing} in its {group!r} group.")
        parts.append(ds[list(var_names)].drop_attrs())
    sizes = {tuple(ds.sizes[d] for d in _SAMPLE_DIMS) for ds in parts}
    if len(sizes) > 1:
        raise ValueError(
            f"The traces have different (chain, draw) sizes {sorted(sizes)}; sample both forms "
            "with the same settings."
        )
    stacked = xr.concat(
        parts, dim=xr.Variable(FORM_DIM, list(traces)), join="override", coords="minimal"
    )
    return xr.DataTree.from_dict({group: stacked})


def plot_autocorr_forms(
    traces: Mapping[str, xr.DataTree],
    var_names: Sequence[str],
    *,
    max_lag: int = 50,
    title: str | None = None,
    **pc_kwargs,
):
    """Autocorrelation of ``var_names`` in every form, in one figure (ArviZ's ``plot_autocorr``).

    One panel per scalar element of each variable; in each panel one line per chain and form,
    coloured by form, with a legend.

    Parameters
    ----------
    traces : mapping of str to xarray.DataTree
        ``{form name: trace}`` with the same chains and draws.
    var_names : sequence of str
    max_lag : int, default 50
    title : str, optional
        Title of the figure.
    **pc_kwargs
        Passed to ``arviz_plots.plot_autocorr`` (``coords=``, ``backend=``, ...).

    Returns
    -------
    arviz_plots.PlotCollection

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.figures import plot_autocorr_forms

        pc = plot_autocorr_forms(
            {"original": idata_centered, "auxiliary": idata_aux}, ["tau"], title="eight schools"
        )
        pc.savefig("autocorr.png")
    """
    import arviz_plots as azp

    dt = stack_forms(traces, var_names)
    pc_kwargs.setdefault("cols", ["__variable__", *_element_dims(dt, var_names)])
    pc_kwargs.setdefault("aes", {"color": [FORM_DIM], "overlay": ["chain"]})
    pc = azp.plot_autocorr(
        dt, var_names=list(var_names), max_lag=max_lag, sample_dims=list(_SAMPLE_DIMS), **pc_kwargs
    )
    return _finish(pc, title)


def plot_trace_forms(
    traces: Mapping[str, xr.DataTree],
    var_names: Sequence[str],
    *,
    title: str | None = None,
    **pc_kwargs,
):
    """Marginal densities and draws of ``var_names`` in every form, in one figure.

    ArviZ's ``plot_trace_dist`` (compact: all elements of a variable in one row), coloured by
    form, with a legend.

    Parameters
    ----------
    traces : mapping of str to xarray.DataTree
        ``{form name: trace}`` with the same chains and draws.
    var_names : sequence of str
    title : str, optional
        Title of the figure.
    **pc_kwargs
        Passed to ``arviz_plots.plot_trace_dist``.

    Returns
    -------
    arviz_plots.PlotCollection

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.figures import plot_trace_forms

        pc = plot_trace_forms({"original": idata_centered, "auxiliary": idata_aux}, ["mu", "tau"])
    """
    import arviz_plots as azp

    dt = stack_forms(traces, var_names)
    overlay = ["chain", *_element_dims(dt, var_names)]
    pc_kwargs.setdefault("aes", {"color": [FORM_DIM], "overlay": overlay})
    pc = azp.plot_trace_dist(
        dt, var_names=list(var_names), sample_dims=list(_SAMPLE_DIMS), **pc_kwargs
    )
    return _finish(pc, title)


def figure_of(pc):
    """The backend figure (e.g. matplotlib ``Figure``) of a ``PlotCollection``.

    Examples
    --------
    .. code-block:: python

        figure_of(res.plot_autocorr()).savefig("autocorr.png", dpi=150)
    """
    return pc.viz["figure"].item()


def _element_dims(dt: xr.DataTree, var_names: Sequence[str]) -> list[str]:
    ds = dt["posterior"].to_dataset()
    skip = {FORM_DIM, *_SAMPLE_DIMS}
    return list(dict.fromkeys(d for n in var_names for d in ds[n].dims if d not in skip))


def _finish(pc, title: str | None):
    pc.add_legend(FORM_DIM)
    if title:
        pc.add_title(title)
    figure = figure_of(pc)
    if hasattr(figure, "set_layout_engine"):  # matplotlib: room for the title and legend
        figure.set_layout_engine("constrained")
    return pc


__all__ = ["FORM_DIM", "figure_of", "plot_autocorr_forms", "plot_trace_forms", "stack_forms"]
