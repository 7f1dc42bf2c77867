"""Sampling metrics and compare_forms: original vs auxiliary form, side by side."""

import math
import warnings

import matplotlib
import numpy as np
import pymc as pm
import pytest
import xarray as xr

from pymc_auxform import (
    AuxformSamplingWarning,
    compare_forms,
    divergences,
    gradient_evaluations,
    sampling_metrics,
)
from pymc_auxform.reference_models import eight_schools, simulate_hierarchical, varying_intercepts

matplotlib.use("Agg")

FAST = dict(nuts_sampler="pymc", cores=1, progressbar=False)


def _synthetic_trace(rng, *, n_steps=None, depth=None, diverging=0, chains=2, draws=500):
    """iid draws for ``a`` and a strongly autocorrelated AR(1) for ``b``."""
    a = rng.normal(size=(chains, draws, 3))
    b = np.zeros((chains, draws))
    for t in range(1, draws):
        b[:, t] = 0.95 * b[:, t - 1] + rng.normal(size=chains)
    post = xr.Dataset(
        {"a": (("chain", "draw", "k"), a), "b": (("chain", "draw"), b)},
        attrs={"sampling_time": 2.0, "inference_library": "test"},
    )
    stats = {
        "diverging": (
            ("chain", "draw"),
            np.arange(chains * draws).reshape(chains, draws) < diverging,
        )
    }
    if n_steps is not None:
        stats["n_steps"] = (("chain", "draw"), np.full((chains, draws), n_steps))
    if depth is not None:
        stats["tree_depth"] = (("chain", "draw"), np.full((chains, draws), depth))
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": xr.Dataset(stats)})


def test_gradient_evaluations_from_steps_or_depth(rng):
    with_steps = _synthetic_trace(rng, n_steps=7, depth=3)["sample_stats"].to_dataset()
    assert gradient_evaluations(with_steps) == 7 * 2 * 500  # n_steps wins over depth
    only_depth = _synthetic_trace(rng, depth=3)["sample_stats"].to_dataset()
    assert gradient_evaluations(only_depth) == (2**3 - 1) * 2 * 500
    assert math.isnan(gradient_evaluations(_synthetic_trace(rng)["sample_stats"].to_dataset()))


def test_divergences_counts_diverging_draws(rng):
    stats = _synthetic_trace(rng, diverging=13)["sample_stats"].to_dataset()
    assert divergences(stats) == 13
    assert divergences(xr.Dataset()) == 0


def test_sampling_metrics_finds_the_worst_element(rng):
    m = sampling_metrics(_synthetic_trace(rng, n_steps=3, diverging=2))
    assert m.worst == "b"
    assert m.min_ess_bulk < 100 < 500  # AR(0.95) on 2 x 500 draws
    assert m.divergences == 2
    assert m.grad_evals == 3000
    assert m.ess_per_grad == pytest.approx(m.min_ess_bulk / 3000)
    assert m.ess_per_second == pytest.approx(m.min_ess_bulk / 2.0)
    only_a = sampling_metrics(_synthetic_trace(rng, n_steps=3), var_names=["a"], seconds=4.0)
    assert only_a.worst.startswith("a[") and only_a.min_ess_bulk > 300
    assert only_a.ess_per_second == pytest.approx(only_a.min_ess_bulk / 4.0)


def test_sampling_metrics_rejects_unknown_names(rng):
    with pytest.raises(ValueError, match=r"\['c'\] are not in the posterior"):
        sampling_metrics(_synthetic_trace(rng), var_names=["c"])


@pytest.fixture(scope="module")
def schools():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare_forms(eight_schools(), draws=300, tune=300, chains=2, random_seed=1, **FAST)
    return res, caught


def test_eight_schools_auxiliary_form_has_fewer_divergences_and_more_ess(schools):
    res, _ = schools
    orig, aux = res.metrics["original"], res.metrics["auxiliary"]
    assert orig.divergences > aux.divergences
    assert aux.min_ess_bulk > 2 * orig.min_ess_bulk
    assert aux.ess_per_grad > orig.ess_per_grad


def test_comparison_table_is_tidy_per_original_element(schools):
    res, _ = schools
    t = res.table
    assert set(t["form"]) == {"original", "auxiliary"}
    assert len(t) == 2 * 10  # mu, tau, 8 thetas per form
    assert set(t["variable"]) == {"mu", "tau", "theta"}
    aux = t[t["form"] == "auxiliary"]
    assert (aux["divergences"] == res.metrics["auxiliary"].divergences).all()
    assert aux["ess_bulk"].min() == pytest.approx(res.metrics["auxiliary"].min_ess_bulk)
    pv = res.per_variable()
    assert list(pv.index) == ["mu", "tau", "theta"]
    assert pv.loc["theta", ("ess_bulk", "auxiliary")] == aux[aux.variable == "theta"].ess_bulk.min()
    runs = res.runs()
    assert list(runs.index) == ["original", "auxiliary"]


def test_text_repr_shows_both_forms(schools):
    res, _ = schools
    text = str(res)
    for piece in ("divergences", "min bulk ESS", "ESS / s", "original", "auxiliary", "theta"):
        assert piece in text
    assert f"{res.metrics['auxiliary'].min_ess_bulk:.0f}" in text


def test_warnings_name_the_problem(schools):
    res, caught = schools
    ours = [str(w.message) for w in caught if issubclass(w.category, AuxformSamplingWarning)]
    assert ours == res.warnings
    if res.metrics["auxiliary"].divergences:
        assert any("divergences" in w for w in ours)


def test_informative_data_warning_suggests_excluding_the_hierarchical_variable():
    # many observations per group: the data are informative and the centered form mixes better
    group, y = simulate_hierarchical(n_groups=4, obs_per_group=50, tau=2.0, seed=2)
    model = varying_intercepts(group, y)
    with pytest.warns(AuxformSamplingWarning, match=r"Low bulk ESS") as rec:
        res = compare_forms(model, draws=200, tune=200, chains=2, random_seed=4, **FAST)
    assert res.metrics["original"].min_ess_bulk > res.metrics["auxiliary"].min_ess_bulk
    # the advice names the hierarchical variable (alpha ~ N(mu, tau)), not mu or tau
    messages = [str(w.message) for w in rec if issubclass(w.category, AuxformSamplingWarning)]
    assert any("exclude=['alpha']" in m for m in messages), messages


def test_means_agree_within_mcse_where_both_forms_mix():
    rng = np.random.default_rng(7)
    y = rng.normal(np.array([0.5, 1.0, 2.0])[:, None], 1.0, size=(3, 10))
    with pm.Model() as model:
        a = pm.Normal("a", 0.0, 1.0)
        b = pm.Normal("b", a, 0.5, shape=3)
        s = pm.HalfNormal("s", 2.0)
        pm.Normal("y", b[:, None], s, observed=y)
    res = compare_forms(model, draws=300, tune=200, chains=2, random_seed=6, warn=False, **FAST)
    for form in ("original", "auxiliary"):
        assert res.metrics[form].min_ess_bulk > 150
        assert res.metrics[form].divergences == 0
    z = res.per_variable()[("max_z", "")]
    assert (z < 4).all(), z


def test_plots(schools):
    res, _ = schools
    fig = res.plot_autocorr("tau", max_lag=20)
    assert len(fig.axes) == 4
    acf_line = fig.axes[1].lines[0].get_ydata()
    assert len(acf_line) == 21 and acf_line[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not one of"):
        res.plot_autocorr("nope")
    pcs = res.plot_trace(["mu"])
    assert set(pcs) == {"original", "auxiliary"}


def test_compare_forms_bad_input():
    with pytest.raises(TypeError, match=r"pymc\.Model"):
        compare_forms("model")
    m = eight_schools()
    with m:
        step = pm.NUTS()
    with pytest.raises(TypeError, match="pass its class"):
        compare_forms(m, step=step)
    with pytest.raises(TypeError, match="pass its class"):
        compare_forms(m, step="nuts")


@pytest.mark.slow
def test_dbn_auxiliary_form_mixes_much_faster():
    from pymc_auxform.reference_models import dbn

    res = compare_forms(
        dbn(form="loop"), draws=500, tune=500, chains=2, random_seed=2013, cores=1, warn=False
    )
    orig, aux = res.metrics["original"], res.metrics["auxiliary"]
    assert aux.min_ess_bulk > 3 * orig.min_ess_bulk
    assert aux.ess_per_grad > 10 * orig.ess_per_grad
    assert (res.per_variable()[("max_z", "")] < 5).all()


@pytest.mark.slow
def test_eight_schools_long_run_auxiliary_form_mixes_better():
    res = compare_forms(
        eight_schools(),
        draws=1000,
        tune=1000,
        chains=4,
        random_seed=1,
        target_accept=0.9,
        cores=1,
        progressbar=False,
        warn=False,
    )
    orig, aux = res.metrics["original"], res.metrics["auxiliary"]
    assert orig.divergences >= aux.divergences
    assert aux.divergences <= 2
    assert aux.min_ess_bulk > 2 * orig.min_ess_bulk
