"""Traces of an auxified model read like the original's and hand off to the original model."""

import warnings

import arviz as az
import numpy as np
import pymc as pm
import pytest
import xarray as xr

from scipy import stats

from pymc_auxform import auxify, check_handoff, original_trace, report
from pymc_auxform.reference_models import EIGHT_SCHOOLS_SIGMA, EIGHT_SCHOOLS_Y, eight_schools
from pymc_auxform.trace import NOISE_GROUP, REPORT_ATTR

SAMPLE = dict(
    draws=200, tune=200, chains=2, random_seed=11, nuts_sampler="pymc", cores=1, progressbar=False
)


@pytest.fixture(scope="module")
def run():
    original = eight_schools()
    aux = auxify(original, centering=0.0)
    with aux:
        idata = pm.sample(**SAMPLE, compute_convergence_checks=False)
    return original, aux, idata


def _sample_vars(model):
    return {v.name for v in model.free_RVs + model.deterministics}


def test_posterior_has_exactly_the_original_variables_with_dims_and_coords(run):
    original, aux, idata = run
    trace = original_trace(idata, aux, original=original)
    post = trace["posterior"]
    assert set(post.data_vars) == _sample_vars(original)
    for name in post.data_vars:
        want = ("chain", "draw", *(original.named_vars_to_dims.get(name) or ()))
        assert post[name].dims == want
    assert list(post["school"].values) == list(original.coords["school"])


def test_noise_moves_to_its_own_group_and_input_is_untouched(run):
    _, aux, idata = run
    before = set(idata["posterior"].data_vars)
    trace = original_trace(idata, aux)
    noise = {"mu_eps", "tau_eps", "theta_eps"}
    assert set(trace[NOISE_GROUP].data_vars) == set(report(aux).all_noise_names) == noise
    xr.testing.assert_equal(
        trace[NOISE_GROUP]["theta_eps"].drop_vars("school"),
        idata["posterior"]["theta_eps"].drop_vars("school"),
    )
    assert set(idata["posterior"].data_vars) == before
    dropped = original_trace(idata, aux, keep_noise=False)
    assert NOISE_GROUP not in dropped.children
    assert set(dropped["sample_stats"].data_vars) == set(idata["sample_stats"].data_vars)


def test_arviz_summary_uses_original_names(run):
    _, aux, idata = run
    summary = az.summary(original_trace(idata, aux), round_to="none")
    assert set(summary.index) == {"mu", "tau"} | {f"theta[s{i}]" for i in range(8)}
    assert np.all(summary["ess_bulk"] > 0)


def test_posterior_predictive_on_the_original_model_uses_the_trace(run):
    original, aux, idata = run
    trace = original_trace(idata, aux, original=original)
    pp = pm.sample_posterior_predictive(trace, model=original, random_seed=3, progressbar=False)
    y = pp["posterior_predictive"]["y"]
    assert y.dims == ("chain", "draw", "school")
    # y | theta ~ N(theta, sigma): the residual about the *posterior* theta has sd sigma
    resid = (y - trace["posterior"]["theta"]).std(("chain", "draw")).values
    np.testing.assert_allclose(resid, EIGHT_SCHOOLS_SIGMA, rtol=0.15)


def test_log_likelihood_on_the_original_model_matches_scipy(run):
    original, aux, idata = run
    trace = original_trace(idata, aux, original=original)
    ll = pm.compute_log_likelihood(
        trace, model=original, extend_inferencedata=False, progressbar=False
    )
    theta = trace["posterior"]["theta"].values
    expected = stats.norm.logpdf(EIGHT_SCHOOLS_Y, theta, EIGHT_SCHOOLS_SIGMA)
    np.testing.assert_allclose(ll["y"].values, expected, rtol=1e-10)


def test_prior_group_is_split_too(run):
    _, aux, idata = run
    with_prior = idata.copy()
    with_prior["prior"] = xr.DataTree(idata["posterior"].to_dataset())
    trace = original_trace(with_prior, aux)
    assert set(trace["prior"].data_vars) == {"mu", "tau", "theta"}
    assert set(trace[f"{NOISE_GROUP}_prior"].data_vars) == {"mu_eps", "tau_eps", "theta_eps"}


def test_check_handoff_names_missing_variables(run):
    original, aux, idata = run
    trace = original_trace(idata, aux)
    assert check_handoff(trace, original) is trace
    trace["posterior"] = xr.DataTree(trace["posterior"].to_dataset().drop_vars("tau"))
    with pytest.raises(ValueError, match=r"missing free variables \['tau'\]"):
        check_handoff(trace, original)


def test_bad_input():
    original = eight_schools()
    with pytest.raises(TypeError, match="DataTree"):
        original_trace({"posterior": None}, auxify(original, centering=0.0))
    empty = xr.DataTree()
    with pytest.raises(ValueError, match=r"not made by pymc_auxform\.auxify"):
        original_trace(empty, original)
    with pytest.raises(ValueError, match="needs the auxified model"):
        original_trace(empty)  # no model, no report in the trace, no context
    with original, pytest.raises(ValueError, match=r"not made by pymc_auxform\.auxify"):
        original_trace(empty)  # the context's model is not auxified


# --- the model from the context, the report in the trace ----------------------------------------


def test_model_from_the_context(run):
    original, aux, idata = run
    with aux:
        trace = original_trace(idata)
    xr.testing.assert_identical(trace, original_trace(idata, aux))
    with original:
        assert check_handoff(trace) is trace


def test_trace_carries_the_report_and_splits_without_the_model(run):
    _, aux, idata = run
    trace = original_trace(idata, aux)
    # a raw trace that carries the report splits without the model
    raw = idata.copy()
    raw.attrs[REPORT_ATTR] = trace.attrs[REPORT_ATTR]
    split = original_trace(raw)
    assert set(split["posterior"].data_vars) == {"mu", "tau", "theta"}
    assert set(split[NOISE_GROUP].data_vars) == {"mu_eps", "tau_eps", "theta_eps"}
    # idempotent on its own output; keep_noise=False then drops the noise group
    xr.testing.assert_identical(original_trace(trace), trace)
    assert NOISE_GROUP not in original_trace(trace, keep_noise=False).children


def _engines():
    import importlib.util

    netcdf = [m for m in ("h5netcdf", "netCDF4") if importlib.util.find_spec(m)]
    return [
        pytest.param(
            "netcdf", marks=pytest.mark.skipif(not netcdf, reason="no netcdf engine installed")
        ),
        "zarr",
    ]


@pytest.mark.parametrize("fmt", _engines())
def test_original_trace_after_a_file_round_trip(run, tmp_path, fmt):
    original, aux, idata = run
    raw = idata.copy()
    raw.attrs[REPORT_ATTR] = original_trace(idata, aux).attrs[REPORT_ATTR]
    path = tmp_path / f"trace.{'nc' if fmt == 'netcdf' else 'zarr'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata is not in the v3 spec
        getattr(raw, f"to_{fmt}")(path)
        loaded = xr.open_datatree(path, engine=None if fmt == "netcdf" else "zarr").load()
    trace = original_trace(loaded, original=original)  # no aux model: the report is in attrs
    assert list(trace["posterior"].data_vars) == ["mu", "tau", "theta"]
    assert set(trace[NOISE_GROUP].data_vars) == {"mu_eps", "tau_eps", "theta_eps"}
    np.testing.assert_array_equal(
        trace["posterior"]["theta"].values, idata["posterior"]["theta"].values
    )


def test_report_reads_the_trace(run):
    _, aux, idata = run
    trace = original_trace(idata, aux)
    assert report(trace).all_noise_names == report(aux).all_noise_names


def test_original_trace_after_pm_do_on_the_aux_model():
    aux = auxify(eight_schools(), centering=0.0)
    fixed = pm.do(aux, {"tau_eps": 0.5})  # tau = 5 * 0.5: an intervention on the noise
    with fixed:
        idata = pm.sample(**SAMPLE, compute_convergence_checks=False)
    trace = original_trace(idata, fixed)
    assert set(trace["posterior"].data_vars) == {"mu", "tau", "theta"}
    assert set(trace[NOISE_GROUP].data_vars) == {"mu_eps", "theta_eps"}
    np.testing.assert_allclose(trace["posterior"]["tau"].values, 5 * 0.5)


def test_original_trace_after_pickling_the_aux_model(run):
    import cloudpickle

    _, aux, idata = run
    loaded = cloudpickle.loads(cloudpickle.dumps(aux))
    xr.testing.assert_identical(original_trace(idata, loaded), original_trace(idata, aux))
