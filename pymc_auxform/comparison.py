"""Did the auxiliary form help? Sample a model in both forms and compare them side by side."""

from __future__ import annotations

import warnings

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from pymc_auxform._compare_inputs import check_inputs, check_step
from pymc_auxform.advice import AuxformSamplingWarning, advise
from pymc_auxform.auxify import auxify
from pymc_auxform.figures import plot_autocorr_forms, plot_trace_forms
from pymc_auxform.metrics import (
    SamplingMetrics,
    element_table,
    ratio,
    sampling_metrics,
    timed_sample,
)
from pymc_auxform.reporting import report
from pymc_auxform.sampling import check_sample_kwargs
from pymc_auxform.trace import original_trace

FORMS = ("original", "auxiliary")


@dataclass
class FormComparison:
    """Result of :func:`compare_forms`: both traces, the metrics and tidy tables.

    Attributes
    ----------
    traces : dict
        ``{"original": DataTree, "auxiliary": DataTree}``; the auxiliary trace is passed through
        :func:`~pymc_auxform.original_trace` (noise in the ``"auxiliary_noise"`` group).
    metrics : dict
        ``{"original": SamplingMetrics, "auxiliary": SamplingMetrics}`` over ``var_names``.
    table : pandas.DataFrame
        Tidy: one row per scalar element of each original variable and form (see
        :meth:`to_dataframe`).
    var_names : list of str
        The original free variables compared.
    aux_model : pm.Model
        The auxified model that was sampled.
    settings : dict
        The sampling settings used for both runs.
    rewritten : list of str
        The variables that ``auxify`` rewrote; empty if it left the model as it was.
    warnings : list of str
        Advice about the auxiliary run (also issued as :class:`AuxformSamplingWarning`).
    warned : bool
        Whether the advice was issued as warnings (then the text repr does not repeat it).

    Examples
    --------
    .. code-block:: python

        res = compare_forms(eight_schools(), draws=500, tune=500, chains=2, random_seed=1)
        res  # in a notebook: HTML tables; print(res) for text
        res.runs()  # one row per form, numeric columns
        res.to_dataframe()  # one row per element and form
    """

    traces: dict[str, xr.DataTree]
    metrics: dict[str, SamplingMetrics]
    table: pd.DataFrame
    var_names: list[str]
    aux_model: pm.Model
    settings: dict
    rewritten: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warned: bool = False

    def to_dataframe(self) -> pd.DataFrame:
        """One row per scalar element of each original variable and form (a copy of ``table``).

        Columns ``variable``, ``element``, ``form`` (strings) and the numbers ``mean``, ``sd``,
        ``mcse_mean``, ``ess_bulk``, ``ess_tail``, ``r_hat``, ``ess_per_second``,
        ``ess_per_grad`` (ESS per gradient evaluation) and ``divergences`` (of the run).

        Examples
        --------
        .. code-block:: python

            df = res.to_dataframe()
            df.groupby("form")["ess_bulk"].min()
        """
        return self.table.copy()

    def runs(self) -> pd.DataFrame:
        """One row per form with the :class:`SamplingMetrics` as typed columns.

        Examples
        --------
        .. code-block:: python

            res.runs()[["divergences", "min_ess_bulk", "ess_per_second", "ess_per_grad"]]
        """
        rows = [self.metrics[form].as_dict() for form in FORMS]
        return pd.DataFrame(rows, index=pd.Index(list(FORMS), name="form"))

    def per_variable(self) -> pd.DataFrame:
        """One row per original variable: worst element of each form, side by side.

        Columns are ``(metric, form)``: min bulk/tail ESS, max R-hat, min ESS/s, min ESS per
        gradient evaluation; ``max_z`` is the largest ``|mean_aux - mean_orig| / sqrt(mcse_orig^2
        + mcse_aux^2)`` over the elements (values below about 3 mean the forms agree).

        Examples
        --------
        .. code-block:: python

            res.per_variable()[("ess_bulk", "auxiliary")]
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
        t = self.table.set_index(["variable", "element", "form"])
        o, a = t.xs("original", level="form"), t.xs("auxiliary", level="form")
        z = (a["mean"] - o["mean"]).abs() / np.sqrt(o["mcse_mean"] ** 2 + a["mcse_mean"] ** 2)
        wide[("max_z", "")] = z.groupby(level="variable", sort=False).max()
        return wide

    def summary(self) -> pd.DataFrame:
        """The runs side by side: one row per metric, columns original, auxiliary, aux / orig.

        The ratio column is ``nan`` for counts and when nothing was rewritten (then both runs
        sampled the same model and any difference is noise).

        Examples
        --------
        .. code-block:: python

            res.summary().loc["min_ess_bulk"]
        """
        shown = ["divergences", "min_ess_bulk", "min_ess_tail", "max_r_hat", "seconds"]
        shown += ["grad_evals", "ess_per_second", "ess_per_grad"]
        runs = self.runs()[shown].astype(float).T
        speed = ["min_ess_bulk", "ess_per_second", "ess_per_grad"] if self.rewritten else []
        runs["aux / orig"] = [
            ratio(runs.loc[m, "auxiliary"], runs.loc[m, "original"]) if m in speed else np.nan
            for m in runs.index
        ]
        runs.columns.name = None
        return runs

    def plot_autocorr(self, var_names: str | Sequence[str] | None = None, **kwargs):
        """Autocorrelation in both forms, one ArviZ figure (Kingma's (2013) comparison).

        Parameters
        ----------
        var_names : str or sequence of str, optional
            Default: the variable with the smallest bulk ESS in the original run.
        **kwargs
            ``max_lag`` (default 50), ``title``, and arviz-plots options (``coords=``, ...);
            see :func:`pymc_auxform.figures.plot_autocorr_forms`.

        Returns
        -------
        arviz_plots.PlotCollection

        Examples
        --------
        .. code-block:: python

            res = compare_forms(dbn(), draws=500, tune=500, chains=1, random_seed=1)
            res.plot_autocorr("z_0", coords={"latent": [0, 1, 2]}).savefig("dbn_autocorr.png")
        """
        names = self._names(var_names, default=self.metrics["original"].worst.split("[")[0])
        kwargs.setdefault(
            "title", f"Autocorrelation, original vs auxiliary form ({self._ess(names)})"
        )
        return plot_autocorr_forms(self.traces, names, **kwargs)

    def plot_trace(self, var_names: str | Sequence[str] | None = None, **kwargs):
        """Densities and draws of both forms in one ArviZ figure (``plot_trace_dist``).

        Parameters
        ----------
        var_names : str or sequence of str, optional
            Default: all compared variables.
        **kwargs
            ``title`` and arviz-plots options; see :func:`pymc_auxform.figures.plot_trace_forms`.

        Returns
        -------
        arviz_plots.PlotCollection

        Examples
        --------
        .. code-block:: python

            res.plot_trace(["mu", "tau"]).show()
        """
        names = self._names(var_names, default=None)
        kwargs.setdefault("title", f"Draws, original vs auxiliary form ({self._ess(names)})")
        return plot_trace_forms(self.traces, names, **kwargs)

    def _names(self, var_names, *, default) -> list[str]:
        if var_names is None:
            return [default] if default else list(self.var_names)
        names = [var_names] if isinstance(var_names, str) else list(var_names)
        unknown = [n for n in names if n not in self.var_names]
        if unknown:
            raise ValueError(f"var_names {unknown} are not among the compared {self.var_names}.")
        return names

    def _ess(self, names) -> str:
        ess = self.per_variable()["ess_bulk"].loc[names].min()
        return "min bulk ESS " + " vs ".join(f"{form} {ess[form]:.0f}" for form in FORMS)

    def _header(self) -> str:
        s, a = self.settings, self.metrics["auxiliary"]
        head = (
            f"compare_forms: {s['chains']} chains x {s['draws']} draws (tune {s['tune']}), "
            f"sampler {a.sampler}, random_seed {s['random_seed']}"
        )
        if not self.rewritten:
            head += (
                "\nnothing was rewritten: auxify left every free variable as it was (see "
                "report(res.aux_model)), so both runs sampled the same model; differences are noise"
            )
        return head

    def _per_variable_flat(self) -> pd.DataFrame:
        pv = self.per_variable()
        pv.columns = [" ".join(c).strip() for c in pv.columns]
        keep = ["ess_bulk original", "ess_bulk auxiliary", "r_hat original", "r_hat auxiliary"]
        return pv[[*keep, "max_z"]]

    def _unissued(self) -> list[str]:
        return [] if self.warned else self.warnings

    def __str__(self) -> str:
        with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 100):
            parts = [
                self._header(),
                self.summary().to_string(na_rep=""),
                "per variable (worst element; max_z < 3: the forms agree):",
                self._per_variable_flat().to_string(),
            ]
        parts += [f"warning: {w}" for w in self._unissued()]
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        fmt = "{:.4g}".format
        parts = [
            f"<p>{self._header().replace(chr(10), '<br>')}</p>",
            self.summary().to_html(float_format=fmt, na_rep=""),
            "<p>per variable (worst element; max_z &lt; 3: the forms agree)</p>",
            self._per_variable_flat().to_html(float_format=fmt),
        ]
        parts += [f"<p>warning: {w}</p>" for w in self._unissued()]
        return "\n".join(parts)

    def _repr_pretty_(self, p, cycle):  # IPython text
        p.text(str(self))


def compare_forms(
    model: pm.Model | None = None,
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

    Every input is checked before anything is sampled.

    Parameters
    ----------
    model : pm.Model, optional
        The model as written (not auxified). Taken from the ``with model:`` context if omitted.
    draws, tune, chains : int
        Passed to ``pm.sample`` for both runs.
    random_seed : int, optional
        The same seed for both runs.
    nuts_sampler : {"pymc", "nutpie", "numpyro", "blackjax"}, optional
        Default: ``pm.sample``'s default.
    aux_model : pm.Model, optional
        A model made by ``auxify(model, ...)``; default ``auxify(model, exclude=exclude)``,
        with auxify's default ``centering="auto"`` (each variable in the form its data call
        for). Pass ``aux_model=auxify(model, centering=0.0)`` to compare the pure rewrite.
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
        Print it (or show it in a notebook) for a side-by-side summary; its tables are pandas
        DataFrames.

    Raises
    ------
    TypeError
        If ``model`` is not a ``pm.Model``, ``step`` is a step-method instance, or a keyword is
        not one of ``pm.sample``'s but close to one (``progress_bar`` for ``progressbar``).
    ValueError
        If ``model`` is already auxified, ``aux_model`` was not made by
        :func:`~pymc_auxform.auxify` from it, or a setting is out of range.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import compare_forms
        from pymc_auxform.reference_models import eight_schools

        res = compare_forms(eight_schools(), draws=500, tune=500, chains=2, random_seed=1)
        print(res)  # divergences, min bulk ESS, ESS/s and ESS per gradient, per variable
        res.to_dataframe()  # tidy DataFrame
        res.plot_autocorr()
    """
    model = pm.modelcontext(model)
    check_inputs(model, draws, tune, chains, nuts_sampler, aux_model, exclude, min_ess)
    step = check_step(sample_kwargs.pop("step", None))
    check_sample_kwargs(sample_kwargs, reserved=("var_names", "return_inferencedata"))
    aux_model = auxify(model, exclude=exclude) if aux_model is None else aux_model
    var_names = [rv.name for rv in model.free_RVs]
    settings = dict(draws=draws, tune=tune, chains=chains, random_seed=random_seed)
    if nuts_sampler is not None:
        settings["nuts_sampler"] = nuts_sampler
    settings.update(sample_kwargs)

    traces, metrics = {}, {}
    for form, m in zip(FORMS, (model, aux_model), strict=True):
        kwargs = {"compute_convergence_checks": False, **settings}
        if step is not None:
            with m:
                kwargs["step"] = step()
        run = timed_sample(m, **kwargs)
        idata = run.idata if form == "original" else original_trace(run.idata, aux_model)
        traces[form] = idata
        metrics[form] = sampling_metrics(idata, var_names=var_names, seconds=run.seconds)

    aux_report = report(aux_model)
    rewritten = list(aux_report.noise_names)
    partial = [r.name for r in aux_report.rewritten if r.form == "partial" and r.lam_max > 0]
    result = FormComparison(
        traces, metrics, element_table(traces, metrics, var_names), var_names, aux_model, settings
    )
    result.rewritten = rewritten
    if rewritten:
        min_ess = 100.0 * chains if min_ess is None else min_ess
        ess = result.per_variable()["ess_bulk"]
        result.warnings = advise(
            metrics, ess, model=model, rewritten=rewritten, min_ess=min_ess, partial=partial
        )
    if warn:
        for msg in result.warnings:
            warnings.warn(msg, AuxformSamplingWarning, stacklevel=2)
        result.warned = True
    return result


__all__ = ["FormComparison", "compare_forms"]
