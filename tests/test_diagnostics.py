"""Sampling metrics, timing helpers and compare_forms: original vs auxiliary form, side by side."""

import math
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

from pymc_auxform import (
    AuxformSamplingWarning,
    FormComparison,
    auxify,
    compare_forms,
    comparison,
    divergences,
    gradient_evaluations,
    logp_grad_seconds,
    report,
    sampling_metrics,
    timed_sample,
)
from pymc_auxform.advice import advise
from pymc_auxform.figures import figure_of
from pymc_auxform.metrics import element_table
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


def test_timed_sample_separates_sampling_from_compilation():
    with pm.Model():
        pm.Normal("x")
        run = timed_sample(draws=50, tune=50, chains=1, random_seed=1, **FAST)
    assert run.idata["posterior"]["x"].shape == (1, 50)
    assert run.seconds == run.idata["posterior"].attrs["sampling_time"]
    assert 0 < run.seconds <= run.wall


def test_logp_grad_seconds_one_model_or_several():
    with pm.Model() as small:
        pm.Normal("x")
    with pm.Model() as mixed:  # a discrete latent is held fixed, not differentiated
        k = pm.Poisson("k", 3.0)
        pm.Normal("z", k, 1.0, shape=50)
    one = logp_grad_seconds(small, calls=20, repeats=2)
    assert isinstance(one, float) and 0 < one < 0.1
    both = logp_grad_seconds({"small": small, "mixed": mixed}, calls=20, repeats=2)
    assert set(both) == {"small", "mixed"} and all(0 < v < 0.1 for v in both.values())


@pytest.fixture(scope="module")
def schools():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # min_ess far above any run's ESS: the low-ESS advice is always issued
        res = compare_forms(
            eight_schools(), draws=300, tune=300, chains=2, random_seed=1, min_ess=1e9, **FAST
        )
    return res, caught


def test_eight_schools_auxiliary_form_has_fewer_divergences_and_more_ess(schools):
    res, _ = schools
    orig, aux = res.metrics["original"], res.metrics["auxiliary"]
    assert orig.divergences > aux.divergences
    assert aux.min_ess_bulk > 2 * orig.min_ess_bulk
    assert aux.ess_per_grad > orig.ess_per_grad
    # compare_forms follows auxify's default (centering="auto"): theta rewritten, mu and tau
    # (roots with constant parameters) kept as written
    assert set(res.rewritten) == {"theta"}
    assert res.rewritten == [r.name for r in report(res.aux_model).rewritten]


def test_comparison_table_is_tidy_per_original_element(schools):
    res, _ = schools
    t = res.to_dataframe()
    assert t is not res.table and t.equals(res.table)
    assert set(t["form"]) == {"original", "auxiliary"}
    assert len(t) == 2 * 10  # mu, tau, 8 thetas per form
    assert set(t["variable"]) == {"mu", "tau", "theta"}
    aux = t[t["form"] == "auxiliary"]
    assert (aux["divergences"] == res.metrics["auxiliary"].divergences).all()
    assert aux["ess_bulk"].min() == pytest.approx(res.metrics["auxiliary"].min_ess_bulk)
    pv = res.per_variable()
    assert list(pv.index) == ["mu", "tau", "theta"]
    assert pv.loc["theta", ("ess_bulk", "auxiliary")] == aux[aux.variable == "theta"].ess_bulk.min()


def test_results_are_numeric_data(schools):
    res, _ = schools
    t = res.to_dataframe()
    numeric = ["mean", "sd", "mcse_mean", "ess_bulk", "ess_tail", "r_hat", "ess_per_second"]
    numeric += ["ess_per_grad", "divergences"]
    assert all(pd.api.types.is_numeric_dtype(t[c]) for c in numeric), t.dtypes
    runs = res.runs()
    assert list(runs.index) == ["original", "auxiliary"]
    assert runs["divergences"].dtype.kind == "i"
    for col in ("min_ess_bulk", "ess_per_second", "ess_per_grad", "seconds", "grad_evals"):
        assert runs[col].dtype == float, col
    summary = res.summary()
    assert all(dtype.kind == "f" for dtype in summary.dtypes)
    assert summary.loc["min_ess_bulk", "aux / orig"] == pytest.approx(
        res.metrics["auxiliary"].min_ess_bulk / res.metrics["original"].min_ess_bulk
    )
    assert np.isnan(summary.loc["divergences", "aux / orig"])


def test_one_unit_for_ess_per_gradient(schools):
    res, _ = schools
    t = res.to_dataframe()
    for form, m in res.metrics.items():
        rows = t[t["form"] == form]
        np.testing.assert_allclose(rows["ess_per_grad"], rows["ess_bulk"] / m.grad_evals)
        assert res.summary().loc["ess_per_grad", form] == pytest.approx(m.ess_per_grad)
        assert res.runs().loc[form, "ess_per_grad"] == pytest.approx(m.min_ess_bulk / m.grad_evals)
    assert "1000" not in str(res)


def test_text_and_html_repr_show_both_forms(schools):
    res, _ = schools
    text = str(res)
    for piece in ("divergences", "min_ess_bulk", "ess_per_second", "original", "auxiliary"):
        assert piece in text
    assert "theta" in text and "nothing was rewritten" not in text
    assert f"{res.metrics['auxiliary'].min_ess_bulk:.4g}" in text
    assert repr(res) == text
    html = res._repr_html_()
    assert html.count("<table") == 2 and "ess_per_grad" in html


def test_warnings_are_issued_once_and_not_repeated_in_the_repr(schools):
    res, caught = schools
    ours = [str(w.message) for w in caught if issubclass(w.category, AuxformSamplingWarning)]
    assert any(w.startswith("Low bulk ESS (< 1e+09)") for w in ours), ours
    assert ours == res.warnings  # each advice issued exactly once
    assert res.warned
    assert "Low bulk ESS" not in str(res) and "Low bulk ESS" not in res._repr_html_()


def test_advice_names_divergences_and_what_to_try(rng):
    res = _synthetic_comparison(rng, aux_divergences=7)
    ess = res.per_variable()["ess_bulk"]
    messages = advise(res.metrics, ess, model=eight_schools(), rewritten=["theta"], min_ess=1.0)
    assert messages == [
        "The auxiliary form still had 7 divergences (original form: 0). Try: increase "
        "target_accept (e.g. pm.sample(target_accept=0.95)) or sample longer."
    ]
    res.warnings, res.warned = messages, False  # not issued (warn=False): the repr shows them
    assert "warning: The auxiliary form still had 7 divergences" in str(res)
    res.warned = True
    assert "still had 7 divergences" not in str(res)


def test_divergences_of_a_partial_form_point_to_the_full_auxiliary_form(rng):
    res = _synthetic_comparison(rng, aux_divergences=3)
    ess = res.per_variable()["ess_bulk"]
    kw = dict(model=eight_schools(), rewritten=["theta"], min_ess=1.0)
    (message,) = advise(res.metrics, ess, partial=["theta"], **kw)
    assert message.startswith("The auxiliary form still had 3 divergences")
    assert "Try: auxify(model, centering=0.0)" in message
    assert "['theta'] are partly centered" in message
    assert "target_accept" in message  # the generic advice is still offered
    # fully auxiliary: the generic advice alone
    (plain,) = advise(res.metrics, ess, **kw)
    assert "centering=0.0" not in plain


def test_compare_forms_passes_the_partly_centered_variables_to_the_advice(monkeypatch):
    import pymc_auxform.comparison as comparison

    seen = {}

    def spy(*args, partial=(), **kwargs):
        seen["partial"] = list(partial)
        return []

    monkeypatch.setattr(comparison, "advise", spy)
    lam = np.array([0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.0, 0.5])
    aux = auxify(eight_schools(), centering={"theta": lam})
    compare_forms(
        eight_schools(), aux_model=aux, draws=20, tune=20, chains=1, random_seed=1, **FAST
    )
    assert seen["partial"] == ["theta"]
    compare_forms(
        eight_schools(),
        aux_model=auxify(eight_schools(), centering=0.0),
        draws=20,
        tune=20,
        chains=1,
        random_seed=1,
        **FAST,
    )
    assert seen["partial"] == []


def _synthetic_comparison(rng, *, aux_divergences):
    traces = {
        "original": _synthetic_trace(rng, n_steps=3),
        "auxiliary": _synthetic_trace(rng, n_steps=3, diverging=aux_divergences),
    }
    names = ["a", "b"]
    metrics = {f: sampling_metrics(t, var_names=names) for f, t in traces.items()}
    table = element_table(traces, metrics, names)
    settings = dict(draws=500, tune=500, chains=2, random_seed=0)
    return FormComparison(traces, metrics, table, names, None, settings, rewritten=["a"])


def test_informative_data_warning_suggests_excluding_the_hierarchical_variable():
    # many observations per group: the data are informative and the centered form mixes better
    group, y = simulate_hierarchical(n_groups=4, obs_per_group=50, tau=2.0, seed=2)
    model = varying_intercepts(group, y)
    aux = auxify(model, centering=0.0)  # the pure rewrite: "auto" would keep alpha centered
    with pytest.warns(AuxformSamplingWarning, match=r"Low bulk ESS") as rec:
        res = compare_forms(
            model, aux_model=aux, draws=200, tune=200, chains=2, random_seed=4, **FAST
        )
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
        # aux min bulk ESS over seeds 1..10: 133..292 of 600 draws (original 365..550)
        assert res.metrics[form].min_ess_bulk > 100
        assert res.metrics[form].divergences == 0
    z = res.per_variable()[("max_z", "")]
    assert (z < 4).all(), z


def test_nothing_rewritten_says_so_instead_of_a_speedup():
    with pm.Model() as model:
        pm.Normal("z", 0.0, 1.0)  # already standard: auxify leaves it
        res = compare_forms(draws=100, tune=100, chains=1, random_seed=1, min_ess=1e9, **FAST)
    assert res.rewritten == [] and res.warnings == []
    assert "nothing was rewritten" in str(res) and "nothing was rewritten" in res._repr_html_()
    assert res.summary()["aux / orig"].isna().all()
    assert res.var_names == ["z"] and model.free_RVs[0].name == "z"


def test_plots_are_single_labelled_arviz_figures(schools):
    res, _ = schools
    pc = res.plot_autocorr("tau", max_lag=20)
    fig = figure_of(pc)
    assert len(fig.axes) == 1  # one scalar: one panel holding both forms
    lines = pc.viz["lines"]["tau"]
    assert list(lines["form"].values) == ["original", "auxiliary"]
    acf = lines.sel(form="auxiliary").isel(chain=0).item().get_ydata()
    assert len(acf) == 20 and acf[0] == pytest.approx(1.0)
    title = fig.get_suptitle()
    assert "original" in title and "auxiliary" in title and "ESS" in title
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["original", "auxiliary"]
    with pytest.raises(ValueError, match="not among the compared"):
        res.plot_autocorr("nope")
    pc = res.plot_trace(["mu", "theta"], title="eight schools")
    assert figure_of(pc).get_suptitle() == "eight schools"
    assert set(pc.viz["trace"]["theta"].dims) >= {"form", "school"}


def test_compare_forms_validates_inputs_before_sampling(monkeypatch):
    def no_sampling(*args, **kwargs):
        raise AssertionError("compare_forms sampled before it validated its inputs")

    monkeypatch.setattr(comparison, "timed_sample", no_sampling)
    with pytest.raises(TypeError, match=r"pymc\.Model"):
        compare_forms("model")
    m = eight_schools()
    with m:
        step = pm.NUTS()
    with pytest.raises(TypeError, match="pass its class"):
        compare_forms(m, step=step)
    with pytest.raises(TypeError, match="pass its class"):
        compare_forms(m, step="nuts")
    with pytest.raises(TypeError, match="did you mean 'progressbar'"):
        compare_forms(m, progress_bar=False)
    with pytest.raises(TypeError, match="var_names"):
        compare_forms(m, var_names=["mu"])
    with pytest.raises(ValueError, match="draws must be an integer >= 1"):
        compare_forms(m, draws=0)
    with pytest.raises(ValueError, match="nuts_sampler must be one of"):
        compare_forms(m, nuts_sampler="stan")
    with pytest.raises(ValueError, match="min_ess must be positive"):
        compare_forms(m, min_ess=0)
    aux = auxify(m, centering=0.0)
    with pytest.raises(ValueError, match="already auxified"):
        compare_forms(aux)
    with pytest.raises(ValueError, match="not made by pymc_auxform.auxify"):
        compare_forms(m, aux_model=eight_schools())
    with pytest.raises(ValueError, match="exclude= is used only"):
        compare_forms(m, aux_model=aux, exclude="tau")
    with pm.Model() as other:
        pm.Normal("w", 0.0, 2.0)
    with pytest.raises(
        ValueError, match=r"lacks the model's free variables \['mu', 'tau', 'theta'\]"
    ):
        compare_forms(m, aux_model=auxify(other, centering=0.0))
    with m, pytest.raises(TypeError, match="did you mean"):  # the model from the context
        compare_forms(progres_bar=False)


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
