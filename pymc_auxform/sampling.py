"""``pymc_auxform.sample``: auxify, sample with PyMC, and get a trace of the original model."""

from __future__ import annotations

import difflib
import inspect

from collections.abc import Mapping, Sequence

import numpy as np
import pymc as pm
import xarray as xr

from pymc_auxform.auxify import auxify
from pymc_auxform.reporting import find_report
from pymc_auxform.trace import original_trace

_SAMPLE_PARAMS = set(inspect.signature(pm.sample).parameters) - {"kwargs"}


def sample(
    model: pm.Model | None = None,
    *,
    var_names: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    centering: float | Mapping[str, float | np.ndarray] | str | None = None,
    **pm_sample_kwargs,
) -> xr.DataTree:
    """Sample a model in auxiliary form and return a trace that reads like the original's.

    Rewrites ``model`` with :func:`~pymc_auxform.auxify` (its defaults, or the ``var_names``,
    ``exclude`` and ``centering`` given here; by default ``centering="auto"`` chooses per
    variable and element between the auxiliary form and the model as written), samples the
    result with ``pm.sample`` (PyMC's choice of sampler, or ``nuts_sampler=``), and hands the
    trace to :func:`~pymc_auxform.original_trace`: the posterior holds the original variables
    in the model's order with their dims and coords, the noise variables are in the
    ``"auxiliary_noise"`` group, and the report is stored as JSON in the trace's attrs, so
    ``pymc_auxform.report(trace)`` and ``original_trace`` work on it after a netcdf round trip.

    Parameters
    ----------
    model : pm.Model, optional
        The model as written. Taken from the ``with model:`` context if omitted. A model that
        was already auxified is sampled as it is (then ``var_names``, ``exclude`` and
        ``centering`` must not be given).
    var_names, exclude, centering : optional
        Passed to :func:`~pymc_auxform.auxify` when given: which variables to rewrite, which to
        leave, and the partial centering (auxify's default ``"auto"`` when not given;
        ``centering=0.0`` for the pure rewrite). (``var_names`` is auxify's, not
        ``pm.sample``'s: the trace always holds every original variable.)
    **pm_sample_kwargs
        Passed to ``pm.sample`` as they are: ``draws``, ``tune``, ``chains``, ``random_seed``,
        ``nuts_sampler``, ``target_accept``, ``progressbar``, ...

    Returns
    -------
    xarray.DataTree
        The trace, in the original model's terms; ``sample_stats["lp"]`` is the log density of
        the auxified model (of the noise), not of the original variables.

    Raises
    ------
    TypeError
        If ``return_inferencedata=False`` is asked for (only DataTree traces can be split), or
        a keyword is not one of ``pm.sample``'s but close to one (``progress_bar``).
    ValueError
        If the model is already auxified and auxify options are given, or from ``auxify``.

    Examples
    --------
    .. code-block:: python

        import pymc_auxform as pax
        from pymc_auxform.reference_models import eight_schools

        with eight_schools():
            idata = pax.sample(random_seed=1)
        idata["posterior"]  # mu, tau, theta, as in the model
        idata["auxiliary_noise"]  # mu_eps, tau_eps, theta_eps
        print(pax.report(idata))  # what was rewritten and why (read from the trace's attrs)
    """
    model = pm.modelcontext(model)
    check_sample_kwargs(pm_sample_kwargs)
    if not pm_sample_kwargs.get("return_inferencedata", True):
        raise TypeError(
            "pymc_auxform.sample returns a DataTree; drop return_inferencedata=False "
            "(or auxify the model and call pm.sample yourself)."
        )
    options = {
        k: v
        for k, v in (("var_names", var_names), ("exclude", exclude), ("centering", centering))
        if v is not None
    }
    if is_auxified(model):
        if options:
            raise ValueError(
                f"The model is already auxified, so {sorted(options)} cannot be applied; pass the "
                "original model, or leave these out to sample the auxified model as it is."
            )
        aux, original = model, None
    else:
        aux, original = auxify(model, **options), model
    idata = pm.sample(model=aux, **pm_sample_kwargs)
    return original_trace(idata, aux, original=original)


def is_auxified(model: pm.Model) -> bool:
    """Whether ``model`` was made by :func:`~pymc_auxform.auxify` (also after ``pm.do``, ...).

    Examples
    --------
    >>> from pymc_auxform.reference_models import eight_schools
    >>> is_auxified(eight_schools()), is_auxified(auxify(eight_schools()))
    (False, True)
    """
    return find_report(model) is not None


def check_sample_kwargs(kwargs: Mapping, *, reserved: Sequence[str] = ()) -> None:
    """Reject keywords meant for ``pm.sample`` that are misspelled or not allowed here.

    ``pm.sample`` passes unknown keywords on to the step methods, so a typo such as
    ``progress_bar=`` would be silently ignored (or fail late); a keyword that is not one of
    ``pm.sample``'s but close to one is an error here, before anything is sampled.

    Parameters
    ----------
    kwargs : mapping
        The keywords to check.
    reserved : sequence of str
        ``pm.sample`` keywords the caller does not accept.

    Raises
    ------
    TypeError
        Naming the keyword and, for a typo, the keyword meant.

    Examples
    --------
    >>> check_sample_kwargs({"target_accept": 0.9, "progressbar": False})  # fine
    >>> check_sample_kwargs({"progress_bar": False})
    Traceback (most recent call last):
    ...
    TypeError: 'progress_bar' is not a pm.sample keyword; did you mean 'progressbar'?
    """
    taken = sorted(set(kwargs) & set(reserved))
    if taken:
        raise TypeError(
            f"{taken} cannot be passed to pm.sample here: every original variable is needed, "
            "in a DataTree trace."
        )
    for key in kwargs:
        if key in _SAMPLE_PARAMS:
            continue
        close = difflib.get_close_matches(key, sorted(_SAMPLE_PARAMS), n=1, cutoff=0.8)
        if close:
            raise TypeError(f"{key!r} is not a pm.sample keyword; did you mean {close[0]!r}?")


__all__ = ["check_sample_kwargs", "is_auxified", "sample"]
