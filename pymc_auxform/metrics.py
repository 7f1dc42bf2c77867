"""Efficiency numbers of a sampling run, and the two timing helpers everything else uses.

:func:`sampling_metrics` is the one place where the numbers of a run are computed (min bulk ESS,
ESS per second, ESS per gradient evaluation, divergences). :func:`timed_sample` (``pm.sample``
plus its wall and sampling time) and :func:`logp_grad_seconds` (cost of one compiled
logp+gradient call) are the one place where runs and gradients are timed: ``compare_forms``, the
tests, the examples and the benchmarks all use them.
"""

from __future__ import annotations

import math
import time

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import overload

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

_N_STEPS_STATS = ("n_steps", "num_steps", "num_integration_steps")
_DEPTH_STATS = ("tree_depth", "depth")
SUMMARY_COLUMNS = ["mean", "sd", "mcse_mean", "ess_bulk", "ess_tail", "r_hat"]


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
        ``min_ess_bulk / grad_evals``: ESS per gradient evaluation (the package's one unit).

    Examples
    --------
    >>> SamplingMetrics("pymc", 2, 500, 0, 3000.0, 2.0, 600.0, 500.0, 1.0, "x", 300.0, 0.2)
    ... # doctest: +ELLIPSIS
    SamplingMetrics(sampler='pymc', chains=2, ...)
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
    summary = summarize(posterior, names)
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
        ess_per_second=ratio(min_bulk, seconds),
        ess_per_grad=ratio(min_bulk, grads),
    )


def gradient_evaluations(sample_stats: xr.Dataset) -> float:
    """Count the gradient evaluations of a run from its ``sample_stats``.

    The sum of the leapfrog steps of every draw (``n_steps``; also ``num_steps`` or
    ``num_integration_steps``); if only the tree depth is stored, ``2**depth - 1`` per draw.
    ``nan`` when neither is there.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> gradient_evaluations(xr.Dataset({"n_steps": (("chain", "draw"), np.full((2, 3), 7))}))
    42.0
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
    >>> import numpy as np, xarray as xr
    >>> divergences(xr.Dataset({"diverging": (("chain", "draw"), np.eye(3, dtype=bool))}))
    3
    """
    for name in ("diverging", "divergences"):
        if name in sample_stats and sample_stats[name].dtype == bool:
            return int(sample_stats[name].sum())
    return 0


def summarize(posterior: xr.Dataset, names: Sequence[str]) -> pd.DataFrame:
    """ArviZ's summary (raw float numbers) of ``names``, one row per scalar element.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> post = xr.Dataset({"x": (("chain", "draw"), np.random.default_rng(0).normal(size=(2, 100)))})
    >>> list(summarize(post, ["x"]).columns)
    ['mean', 'sd', 'mcse_mean', 'ess_bulk', 'ess_tail', 'r_hat']
    """
    if not names:
        return pd.DataFrame(columns=SUMMARY_COLUMNS, dtype=float)
    table = az.summary(posterior, var_names=list(names), round_to="none")
    return table[SUMMARY_COLUMNS].astype(float)


def element_table(
    traces: Mapping[str, xr.DataTree],
    metrics: Mapping[str, SamplingMetrics],
    var_names: Sequence[str],
) -> pd.DataFrame:
    """One row per scalar element of ``var_names`` in each run: a tidy table of several runs.

    Columns ``variable``, ``element``, ``form`` (the run's key), the columns of
    :func:`summarize`, ``ess_per_second``, ``ess_per_grad`` (the element's bulk ESS over the
    run's seconds and gradient evaluations) and the run's ``divergences``.

    Examples
    --------
    .. code-block:: python

        runs = {"nutpie": idata_a, "pymc": idata_b}
        metrics = {k: sampling_metrics(v, var_names=["mu"]) for k, v in runs.items()}
        element_table(runs, metrics, ["mu"]).pivot(index="element", columns="form")
    """
    frames = []
    for form, idata in traces.items():
        posterior = idata["posterior"].to_dataset()
        m = metrics[form]
        for name in var_names:
            frame = summarize(posterior, [name]).reset_index(names="element")
            frame.insert(0, "variable", name)
            frame.insert(2, "form", form)
            frame["ess_per_second"] = frame["ess_bulk"] / m.seconds
            frame["ess_per_grad"] = frame["ess_bulk"] / m.grad_evals
            frame["divergences"] = m.divergences
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class TimedRun:
    """What :func:`timed_sample` returns: the trace and how long it took.

    Attributes
    ----------
    idata : xarray.DataTree
        What ``pm.sample`` returned.
    seconds : float
        Sampling time without compilation: the trace's ``sampling_time`` (tuning and draws),
        else ``wall``.
    wall : float
        Wall time of the whole ``pm.sample`` call, compilation included.

    Examples
    --------
    >>> run = TimedRun(idata=None, seconds=1.5, wall=4.0)
    >>> run.wall - run.seconds  # compilation and set-up
    2.5
    """

    idata: xr.DataTree
    seconds: float
    wall: float


def timed_sample(model: pm.Model | None = None, **pm_sample_kwargs) -> TimedRun:
    """Run ``pm.sample`` on ``model`` and time it.

    Parameters
    ----------
    model : pm.Model, optional
        Taken from the ``with model:`` context if omitted.
    **pm_sample_kwargs
        Passed to ``pm.sample`` as they are (``nuts_sampler=``, ``progressbar=``, ...).

    Returns
    -------
    TimedRun
        The trace, its sampling time (compilation excluded, for every sampler that records
        ``sampling_time``: PyMC, nutpie, numpyro, blackjax) and the wall time.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import timed_sample
        from pymc_auxform.reference_models import eight_schools

        run = timed_sample(eight_schools(), random_seed=1, nuts_sampler="nutpie")
        run.seconds, run.wall  # sampling only; whole call with compilation
    """
    model = pm.modelcontext(model)
    start = time.perf_counter()
    idata = pm.sample(model=model, **pm_sample_kwargs)
    wall = time.perf_counter() - start
    posterior = idata["posterior"] if isinstance(idata, xr.DataTree) else None
    seconds = posterior.attrs.get("sampling_time", wall) if posterior is not None else wall
    return TimedRun(idata, float(seconds), wall)


@overload
def logp_grad_seconds(models: pm.Model, *, calls: int = ..., repeats: int = ...) -> float: ...
@overload
def logp_grad_seconds(
    models: Mapping[str, pm.Model], *, calls: int = ..., repeats: int = ...
) -> dict[str, float]: ...


def logp_grad_seconds(models, *, calls: int = 300, repeats: int = 9):
    """Seconds per call of a model's compiled logp+gradient function, at its initial point.

    Each model's function (PyMC's ``logp_dlogp_function`` over its continuous value
    variables, compiled once) is called ``calls`` times in a row, ``repeats`` times; the best
    repeat counts. With several models the repeats are interleaved, so that a busy machine
    slows them all alike: compare their ratios.

    Parameters
    ----------
    models : pm.Model or mapping of str to pm.Model
    calls : int, default 300
    repeats : int, default 9

    Returns
    -------
    float or dict of str to float
        Seconds per call, for one model or for each model of the mapping.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, logp_grad_seconds
        from pymc_auxform.reference_models import eight_schools

        cost = logp_grad_seconds({"original": eight_schools(), "aux": auxify(eight_schools())})
        cost["aux"] / cost["original"]  # close to 1: the rewrite adds almost nothing
    """
    if isinstance(models, pm.Model):
        return logp_grad_seconds({"model": models}, calls=calls, repeats=repeats)["model"]
    fns = {label: _logp_grad_call(m) for label, m in models.items()}
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeats):
        for label, call in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                call()
            best[label] = min(best[label], (time.perf_counter() - start) / calls)
    return best


def _logp_grad_call(model: pm.Model):
    """A no-argument call of the compiled logp+gradient at the initial point (warmed up)."""
    point = model.initial_point(random_seed=0)
    grad_vars = model.continuous_value_vars
    fn = model.logp_dlogp_function(
        grad_vars=[model.values_to_rvs[v] for v in grad_vars],
        ravel_inputs=True,
        initial_point=point,
    )
    x = np.concatenate([np.ravel(point[v.name]) for v in grad_vars])
    fn(x)
    return lambda: fn(x)


def ratio(a: float, b: float) -> float:
    """``a / b``, or ``nan`` when ``b`` is zero, negative or not finite.

    Examples
    --------
    >>> ratio(3.0, 2.0), ratio(1.0, 0.0)
    (1.5, nan)
    """
    return a / b if b and np.isfinite(b) and b > 0 else math.nan


__all__ = [
    "SamplingMetrics",
    "TimedRun",
    "divergences",
    "element_table",
    "gradient_evaluations",
    "logp_grad_seconds",
    "sampling_metrics",
    "summarize",
    "timed_sample",
]
