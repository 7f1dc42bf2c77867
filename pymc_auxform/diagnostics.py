"""Did the auxiliary form help? Sampling metrics and a side-by-side comparison of both forms.

:func:`sampling_metrics` is the one place where the efficiency numbers of a run are computed (min
bulk ESS, ESS per second, ESS per gradient evaluation, divergences); :func:`compare_forms`,
the examples and the benchmarks all use it.
"""

from __future__ import annotations

import math
import time
import warnings

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from pytensor.graph.traversal import ancestors

from pymc_auxform.auxify import auxify
from pymc_auxform.report import report
from pymc_auxform.trace import original_trace

FORMS = ("original", "auxiliary")

_N_STEPS_STATS = ("n_steps", "num_steps", "num_integration_steps")
_DEPTH_STATS = ("tree_depth", "depth")


class AuxformSamplingWarning(UserWarning):
    """The auxified model still samples badly (divergences or low ESS); the message says why."""


@dataclass(frozen=True)
class SamplingMetrics:
    """Efficiency of one sampling run, computed by :func:`sampling_metrics`.

    Attributes
    ----------
    sampler : str
        ``inference_library`` of the trace (``"pymc"``, ``"nutpie"``, ``"numpyro"``, ...).
    chains, draws : int
        Posterior draws per chain (tuning excluded).
    divergences : int
        Divergent transitions after tuning.
    grad_evals : float
        Gradient evaluations of the log density during the kept draws: the sum of the leapfrog
        steps (``n_steps``) of every draw, or ``2**tree_depth - 1`` per draw when the sampler
        stores only the tree depth; ``nan`` when neither is stored.
    seconds : float
        Sampling time in seconds (the trace's ``sampling_time``: tuning and draws, no
        compilation), or the ``seconds`` given to :func:`sampling_metrics`.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail ESS over all scalar elements of the variables.
    max_r_hat : float
        Largest rank-normalized R-hat.
    worst : str
        The element with the smallest bulk ESS (e.g. ``"theta[s3]"``).
    ess_per_second : float
        ``min_ess_bulk / seconds``.
    ess_per_grad : float
        ``min_ess_bulk / grad_evals``.
    """

    sampler: str
    chains: int
    draws: int
    divergences: int
    grad_evals: float
    seconds: float
    min_ess_bulk: float
    min_ess_tail: float
    max_r_hat: float
    worst: str
    ess_per_second: float
    ess_per_grad: float

    def as_dict(self) -> dict:
        """The metrics as a plain dict (for JSON and DataFrames)."""
        return asdict(self)


def sampling_metrics(
    idata: xr.DataTree,
    *,
    var_names: Sequence[str] | None = None,
    seconds: float | None = None,
) -> SamplingMetrics:
    """Compute the efficiency metrics of one sampling run.

    Works with traces of PyMC's NUTS and HamiltonianMC, nutpie, numpyro and blackjax.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace with ``posterior`` and ``sample_stats`` groups.
    var_names : sequence of str, optional
        Variables whose ESS counts (default: every posterior variable). To compare an original
        and an auxified model fairly, pass the original model's free variables: they are in
        both posteriors.
    seconds : float, optional
        Time to divide the ESS by. Default: the trace's ``sampling_time`` attribute.

    Returns
    -------
    SamplingMetrics

    Raises
    ------
    ValueError
        If the trace has no posterior, or a name in ``var_names`` is not in it.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify, sampling_metrics
        from pymc_auxform.reference_models import eight_schools

        with auxify(eight_schools()):
            idata = pm.sample(random_seed=1)
        m = sampling_metrics(idata, var_names=["mu", "tau", "theta"])
        print(m.divergences, m.min_ess_bulk, m.ess_per_grad)
    """
    if not isinstance(idata, xr.DataTree) or "posterior" not in idata.children:
        raise ValueError("sampling_metrics needs a trace (DataTree) with a 'posterior' group.")
    posterior = idata["posterior"].to_dataset()
    names = list(posterior.data_vars) if var_names is None else list(var_names)
    missing = [n for n in names if n not in posterior.data_vars]
    if missing:
        raise ValueError(
            f"var_names {missing} are not in the posterior; it has {list(posterior.data_vars)}."
        )
    summary = _diagnostics(posterior, names)
    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    if seconds is None:
        seconds = float(posterior.attrs.get("sampling_time", math.nan))
    grads = gradient_evaluations(stats) if stats is not None else math.nan
    worst = summary["ess_bulk"].idxmin() if len(summary) else ""
    min_bulk = float(summary["ess_bulk"].min())
    return SamplingMetrics(
        sampler=str(posterior.attrs.get("inference_library", "unknown")),
        chains=int(posterior.sizes["chain"]),
        draws=int(posterior.sizes["draw"]),
        divergences=divergences(stats) if stats is not None else 0,
        grad_evals=grads,
        seconds=seconds,
        min_ess_bulk=min_bulk,
        min_ess_tail=float(summary["ess_tail"].min()),
        max_r_hat=float(summary["r_hat"].max()),
        worst=str(worst),
        ess_per_second=_ratio(min_bulk, seconds),
        ess_per_grad=_ratio(min_bulk, grads),
    )


def gradient_evaluations(sample_stats: xr.Dataset) -> float:
    """Count the gradient evaluations of a run from its ``sample_stats``.

    The sum of the leapfrog steps of every draw (``n_steps``; also ``num_steps`` or
    ``num_integration_steps``); if only the tree depth is stored, ``2**depth - 1`` per draw.
    ``nan`` when neither is there.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import gradient_evaluations

        with pm.Model():
            pm.Normal("x")
            idata = pm.sample(200, tune=200, chains=1, random_seed=1, nuts_sampler="pymc")
        gradient_evaluations(idata["sample_stats"].to_dataset())
    """
    for name in _N_STEPS_STATS:
        if name in sample_stats:
            return float(sample_stats[name].sum())
    for name in _DEPTH_STATS:
        if name in sample_stats:
            return float((2.0 ** sample_stats[name].astype(float) - 1).sum())
    return math.nan


def divergences(sample_stats: xr.Dataset) -> int:
    """Number of divergent transitions in ``sample_stats`` (0 when the sampler stores none).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import divergences
        from pymc_auxform.reference_models import eight_schools

        with eight_schools():
            idata = pm.sample(random_seed=1)
        divergences(idata["sample_stats"].to_dataset())  # usually > 0 for the centered form
    """
    for name in ("diverging", "divergences"):
        if name in sample_stats and sample_stats[name].dtype == bool:
            return int(sample_stats[name].sum())
    return 0


@dataclass
class FormComparison:
    """Result of :func:`compare_forms`: both traces, the metrics and a per-variable table.

    Attributes
    ----------
    traces : dict
        ``{"original": DataTree, "auxiliary": DataTree}``; the auxiliary trace is passed through
        :func:`~pymc_auxform.original_trace` (noise in the ``"auxiliary_noise"`` group).
    metrics : dict
        ``{"original": SamplingMetrics, "auxiliary": SamplingMetrics}`` over ``var_names``.
    table : pandas.DataFrame
        Tidy: one row per scalar element of each original variable and form, with columns
        ``variable, element, form, mean, sd, mcse_mean, ess_bulk, ess_tail, r_hat,
        ess_per_second, ess_per_grad, divergences``.
    var_names : list of str
        The original free variables compared.
    aux_model : pm.Model
        The auxified model that was sampled.
    settings : dict
        The sampling settings used for both runs.
    warnings : list of str
        The warnings issued about the auxiliary run.
    """

    traces: dict[str, xr.DataTree]
    metrics: dict[str, SamplingMetrics]
    table: pd.DataFrame
    var_names: list[str]
    aux_model: pm.Model
    settings: dict
    warnings: list[str] = field(default_factory=list)

    def runs(self) -> pd.DataFrame:
        """One row per form: divergences, min ESS, R-hat, time, gradient evaluations, ESS/s.

        Examples
        --------
        .. code-block:: python

            res = compare_forms(eight_schools(), draws=500, tune=500, chains=2, random_seed=1)
            res.runs()
        """
        return pd.DataFrame({form: m.as_dict() for form, m in self.metrics.items()}).T

    def per_variable(self) -> pd.DataFrame:
        """One row per original variable: worst element of each form, side by side.

        Columns are ``(metric, form)``: min bulk/tail ESS, max R-hat, min ESS/s, min ESS per
        gradient evaluation; ``max_z`` is the largest ``|mean_aux - mean_orig| / sqrt(mcse_orig^2
        + mcse_aux^2)`` over the elements (values below about 3 mean the forms agree).

        Examples
        --------
        .. code-block:: python

            res = compare_forms(eight_schools(), draws=500, tune=500, chains=2, random_seed=1)
            res.per_variable()
        """
        agg = self.table.groupby(["variable", "form"], sort=False).agg(
            ess_bulk=("ess_bulk", "min"),
            ess_tail=("ess_tail", "min"),
            r_hat=("r_hat", "max"),
            ess_per_second=("ess_per_second", "min"),
            ess_per_grad=("ess_per_grad", "min"),
        )
        wide = agg.unstack("form").reindex(columns=list(FORMS), level="form")
        wide = wide.reindex(self.var_names)
        wide[("max_z", "")] = self._agreement().groupby(level=0, sort=False).max()
        return wide

    def _agreement(self) -> pd.Series:
        t = self.table.set_index(["variable", "element", "form"])
        o = t.xs("original", level="form")
        a = t.xs("auxiliary", level="form")
        z = (a["mean"] - o["mean"]).abs() / np.sqrt(o["mcse_mean"] ** 2 + a["mcse_mean"] ** 2)
        return z.droplevel("element")

    def plot_autocorr(
        self,
        var_name: str | None = None,
        *,
        max_lag: int = 50,
        chain: int = 0,
        max_lines: int = 10,
        sample_lines: int = 3,
    ):
        """Reproduce the seed's figure: samples and autocorrelation, original vs auxiliary form.

        A 2 x 2 matplotlib figure: rows are the forms; the left column shows the draws of one
        chain (``sample_lines`` elements of the variable), the right column their
        autocorrelation (ArviZ's ``autocorr``) up to ``max_lag`` (``max_lines`` elements). The
        titles give the smallest bulk ESS of the variable in each form.

        Parameters
        ----------
        var_name : str, optional
            The variable to show; default the one with the smallest bulk ESS in the original run.
        max_lag : int, default 50
        chain : int, default 0
        max_lines : int, default 10
        sample_lines : int, default 3

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        .. code-block:: python

            res = compare_forms(dbn(), draws=500, tune=500, chains=1, random_seed=1)
            res.plot_autocorr("z_0").savefig("dbn_autocorr.png")
        """
        import matplotlib.pyplot as plt

        var_name = var_name or self.metrics["original"].worst.split("[")[0]
        if var_name not in self.var_names:
            raise ValueError(f"var_name {var_name!r} is not one of {self.var_names}.")
        ess = self.per_variable()["ess_bulk"].loc[var_name]
        fig, axes = plt.subplots(
            2, 2, figsize=(10, 6), sharex="col", sharey="col", squeeze=False, layout="constrained"
        )
        for row, form in enumerate(FORMS):
            draws = _element_lines(self.traces[form], var_name, chain, max_lines)
            acf = draws.azstats.autocorr(dim="draw").isel(draw=slice(0, max_lag + 1))
            for k in range(draws.sizes["element"]):
                if k < sample_lines:
                    axes[row, 0].plot(draws["draw"], draws.isel(element=k), lw=0.7)
                axes[row, 1].plot(np.arange(acf.sizes["draw"]), acf.isel(element=k), lw=1.0)
            axes[row, 0].set_title(f"{form} form: samples of {var_name} (chain {chain})")
            axes[row, 1].set_title(f"{form} form: autocorrelation (min bulk ESS {ess[form]:.0f})")
            axes[row, 1].axhline(0.0, color="0.5", lw=0.8)
            axes[row, 1].set_ylim(-0.3, 1.05)
        axes[1, 0].set_xlabel("draw")
        axes[1, 1].set_xlabel("lag")
        return fig

    def plot_trace(self, var_names: Sequence[str] | None = None, **kwargs) -> dict:
        """Trace plots of both forms with arviz-plots' ``plot_trace_dist``.

        Parameters
        ----------
        var_names : sequence of str, optional
            Default: all compared variables.
        **kwargs
            Passed to ``arviz_plots.plot_trace_dist``.

        Returns
        -------
        dict
            ``{"original": PlotCollection, "auxiliary": PlotCollection}``.

        Examples
        --------
        .. code-block:: python

            res = compare_forms(eight_schools(), draws=500, tune=500, chains=2, random_seed=1)
            res.plot_trace(["mu", "tau"])["auxiliary"].show()
        """
        import arviz_plots as azp

        names = list(var_names) if var_names is not None else self.var_names
        return {
            form: azp.plot_trace_dist(self.traces[form], var_names=names, **kwargs)
            for form in FORMS
        }

    def __str__(self) -> str:
        return _format(self)

    def __repr__(self) -> str:
        return _format(self)

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))


def compare_forms(
    model: pm.Model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    nuts_sampler: str | None = None,
    aux_model: pm.Model | None = None,
    exclude: str | Sequence[str] | None = None,
    min_ess: float | None = None,
    warn: bool = True,
    **sample_kwargs,
) -> FormComparison:
    """Sample a model and its auxiliary form with the same settings and compare them.

    Parameters
    ----------
    model : pm.Model
        The model as written (centered).
    draws, tune, chains : int
        Passed to ``pm.sample`` for both runs.
    random_seed : int, optional
        The same seed for both runs.
    nuts_sampler : {"pymc", "nutpie", "numpyro", "blackjax"}, optional
        Default: ``pm.sample``'s default.
    aux_model : pm.Model, optional
        A model made by ``auxify(model, ...)``; default ``auxify(model, exclude=exclude)``.
    exclude : str or sequence of str, optional
        Passed to :func:`~pymc_auxform.auxify` when ``aux_model`` is not given.
    min_ess : float, optional
        Warn about the original variables whose bulk ESS in the auxiliary run is below this;
        default 100 per chain.
    warn : bool, default True
        Issue :class:`AuxformSamplingWarning` when the auxiliary run has divergences or low ESS.
    **sample_kwargs
        Passed to ``pm.sample`` for both runs (``cores``, ``target_accept``, ``progressbar``,
        ...). ``step`` must be a step-method class or a function of no arguments (for example
        ``step=pm.HamiltonianMC``): it is called inside each model.

    Returns
    -------
    FormComparison
        Print it for a side-by-side summary.

    Raises
    ------
    TypeError
        If ``model`` is not a ``pm.Model`` or ``step`` is a step-method instance.
    ValueError
        If ``aux_model`` was not made by :func:`~pymc_auxform.auxify`.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import compare_forms
        from pymc_auxform.reference_models import eight_schools

        res = compare_forms(eight_schools(), draws=500, tune=500, chains=2, random_seed=1)
        print(res)  # divergences, min bulk ESS, ESS/s and ESS per gradient, per variable
        res.table  # tidy DataFrame
        res.plot_autocorr()
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"compare_forms expects a pymc.Model, got {type(model).__name__}.")
    step = sample_kwargs.pop("step", None)
    if isinstance(step, pm.step_methods.compound.BlockedStep) or (
        step is not None and not callable(step)
    ):
        raise TypeError(
            f"step={step!r} is bound to one model; pass its class or a function that builds "
            "it (e.g. step=pm.HamiltonianMC), because each model needs its own step method."
        )
    aux_model = auxify(model, exclude=exclude) if aux_model is None else aux_model
    var_names = [rv.name for rv in model.free_RVs]
    settings = dict(draws=draws, tune=tune, chains=chains, random_seed=random_seed)
    if nuts_sampler is not None:
        settings["nuts_sampler"] = nuts_sampler
    settings.update(sample_kwargs)

    traces, metrics = {}, {}
    for form, m in zip(FORMS, (model, aux_model), strict=True):
        idata, seconds = _sample(m, step, settings)
        if form == "auxiliary":
            idata = original_trace(idata, aux_model)
        traces[form] = idata
        metrics[form] = sampling_metrics(idata, var_names=var_names, seconds=seconds)

    table = _tidy_table(traces, metrics, var_names)
    result = FormComparison(traces, metrics, table, var_names, aux_model, settings)
    min_ess = 100.0 * chains if min_ess is None else min_ess
    result.warnings = _advice(result, model, min_ess)
    if warn:
        for msg in result.warnings:
            warnings.warn(msg, AuxformSamplingWarning, stacklevel=2)
    return result


def _sample(model: pm.Model, step: Callable | None, settings: dict) -> tuple[xr.DataTree, float]:
    kwargs = dict(settings)
    kwargs.setdefault("compute_convergence_checks", False)
    with model:
        if step is not None:
            kwargs["step"] = step()
        start = time.perf_counter()
        idata = pm.sample(**kwargs)
        wall = time.perf_counter() - start
    seconds = idata["posterior"].attrs.get("sampling_time", wall)
    return idata, float(seconds)


def _diagnostics(posterior: xr.Dataset, names: Sequence[str]) -> pd.DataFrame:
    """ArviZ's summary (raw numbers) of ``names``, one row per scalar element."""
    if not names:
        return pd.DataFrame(columns=["mean", "sd", "mcse_mean", "ess_bulk", "ess_tail", "r_hat"])
    return az.summary(posterior, var_names=list(names), round_to="none").astype(float)


def _tidy_table(traces, metrics, var_names) -> pd.DataFrame:
    frames = []
    for form in FORMS:
        posterior = traces[form]["posterior"].to_dataset()
        m = metrics[form]
        for name in var_names:
            s = _diagnostics(posterior, [name])
            frames.append(
                pd.DataFrame(
                    {
                        "variable": name,
                        "element": s.index,
                        "form": form,
                        "mean": s["mean"].to_numpy(),
                        "sd": s["sd"].to_numpy(),
                        "mcse_mean": s["mcse_mean"].to_numpy(),
                        "ess_bulk": s["ess_bulk"].to_numpy(),
                        "ess_tail": s["ess_tail"].to_numpy(),
                        "r_hat": s["r_hat"].to_numpy(),
                        "ess_per_second": s["ess_bulk"].to_numpy() / m.seconds,
                        "ess_per_grad": s["ess_bulk"].to_numpy() / m.grad_evals,
                        "divergences": m.divergences,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _advice(result: FormComparison, model: pm.Model, min_ess: float) -> list[str]:
    """Warnings about the auxiliary run, naming variables and what to try."""
    o, a = result.metrics["original"], result.metrics["auxiliary"]
    ess = result.per_variable()["ess_bulk"]
    low = [v for v in ess.index if ess.loc[v, "auxiliary"] < min_ess]
    candidates = _hierarchical_rewritten(model, result.aux_model)
    if candidates and a.min_ess_bulk < o.min_ess_bulk:
        hint = (
            f"the original form mixed better (min bulk ESS {o.min_ess_bulk:.0f} vs "
            f"{a.min_ess_bulk:.0f}), so the data are probably informative about "
            f"{candidates}: keep them centered with auxify(model, exclude={candidates}) "
            "or use partial centering (auxify(model, centering=...))"
        )
    else:
        hint = "increase target_accept (e.g. pm.sample(target_accept=0.95)) or sample longer"
    out = []
    if a.divergences:
        out.append(
            f"The auxiliary form still had {a.divergences} divergences "
            f"(original form: {o.divergences}). Try: {hint}."
        )
    if low:
        out.append(
            f"Low bulk ESS (< {min_ess:g}) in the auxiliary form for {low} "
            f"(worst: {a.worst}, {a.min_ess_bulk:.0f}). Try: {hint}."
        )
    return out


def _hierarchical_rewritten(model: pm.Model, aux_model: pm.Model) -> list[str]:
    """Rewritten variables whose distribution depends on other latent variables."""
    try:
        rewritten = set(report(aux_model).noise_names)
    except ValueError:
        return []
    free = set(model.free_RVs)
    out = []
    for rv in model.free_RVs:
        if rv.name not in rewritten:
            continue
        params = [i for i in rv.owner.inputs if i is not None]
        if any(v in free and v is not rv for v in ancestors(params)):
            out.append(rv.name)
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b and np.isfinite(b) and b > 0 else math.nan


def _format(res: FormComparison) -> str:
    o, a = res.metrics["original"], res.metrics["auxiliary"]
    s = res.settings
    head = (
        f"compare_forms: {s['chains']} chains x {s['draws']} draws (tune {s['tune']}), "
        f"sampler {a.sampler}, random_seed {s['random_seed']}"
    )
    rows = [
        ("", "original", "auxiliary", "aux / orig"),
        ("divergences", f"{o.divergences}", f"{a.divergences}", ""),
        (
            "min bulk ESS",
            f"{o.min_ess_bulk:.0f}",
            f"{a.min_ess_bulk:.0f}",
            _x(a, o, "min_ess_bulk"),
        ),
        ("  worst element", o.worst, a.worst, ""),
        ("min tail ESS", f"{o.min_ess_tail:.0f}", f"{a.min_ess_tail:.0f}", ""),
        ("max R-hat", f"{o.max_r_hat:.3f}", f"{a.max_r_hat:.3f}", ""),
        ("sampling time (s)", f"{o.seconds:.2f}", f"{a.seconds:.2f}", ""),
        ("gradient evals", f"{o.grad_evals:.0f}", f"{a.grad_evals:.0f}", ""),
        (
            "min ESS / s",
            f"{o.ess_per_second:.1f}",
            f"{a.ess_per_second:.1f}",
            _x(a, o, "ess_per_second"),
        ),
        (
            "min ESS / 1000 grads",
            f"{1000 * o.ess_per_grad:.2f}",
            f"{1000 * a.ess_per_grad:.2f}",
            _x(a, o, "ess_per_grad"),
        ),
    ]
    lines = [head, *_columns(rows), "", "per variable (worst element; max_z < 3: forms agree):"]
    pv = res.per_variable()
    flat = pd.DataFrame(
        {
            "ess_bulk orig": pv[("ess_bulk", "original")].round(0),
            "ess_bulk aux": pv[("ess_bulk", "auxiliary")].round(0),
            "r_hat orig": pv[("r_hat", "original")].round(3),
            "r_hat aux": pv[("r_hat", "auxiliary")].round(3),
            "max_z": pv[("max_z", "")].round(2),
        }
    )
    lines.append(flat.to_string())
    lines += [f"warning: {w}" for w in res.warnings]
    return "\n".join(lines)


def _x(a: SamplingMetrics, o: SamplingMetrics, attr: str) -> str:
    r = _ratio(getattr(a, attr), getattr(o, attr))
    return f"{r:.1f}x" if np.isfinite(r) else "-"


def _columns(rows) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]


def _element_lines(idata: xr.DataTree, name: str, chain: int, max_lines: int) -> xr.DataArray:
    """Draws of one chain of ``name`` as (element, draw), at most ``max_lines`` elements."""
    da = idata["posterior"][name].isel(chain=chain)
    extra = [d for d in da.dims if d != "draw"]
    da = da.stack(element=extra) if extra else da.expand_dims(element=[0])
    da = da.transpose("element", "draw")
    if "element" in da.indexes:
        da = da.drop_vars(["element", *extra], errors="ignore")
    return da.isel(element=slice(0, max_lines))


__all__ = [
    "AuxformSamplingWarning",
    "FormComparison",
    "SamplingMetrics",
    "compare_forms",
    "divergences",
    "gradient_evaluations",
    "sampling_metrics",
]
