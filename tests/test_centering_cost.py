"""The automatic choice's pilot: exact information (to the error of central differences) from
Hessian-vector products where blocks are diagonal, a cost that does not grow with the number of elements, the same decisions as the exact
(per-element) method, right picks, and a safe fallback."""

import warnings

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

import pymc_auxform._pilot as pilot_module

from pymc_auxform import auxify, choose_centering, report, sampling_metrics
from pymc_auxform._pilot import Pilot, PilotFailed
from pymc_auxform.reference_models import (
    dbn,
    eight_schools,
    funnel,
    hierarchical_glm,
    radon_style,
    simulate_hierarchical,
    varying_intercepts,
)
from pymc_auxform.rewrite import rewrite_model

from . import oracles


def _pilot(model, names):
    aux, rep = rewrite_model(model)
    targets = [(r.name, r.noise[0], True) for r in rep.rewritten if r.name in names]
    return Pilot(aux, model, targets, np.random.default_rng(0), None)


def _exact_hvp(pilot):
    """The likelihood Hessian times a vector by reverse-over-reverse differentiation of the
    pilot's compiled likelihood gradient (the oracle of its central differences)."""
    fgraph = pilot._objective.fgraph
    joined, likelihood_grad = fgraph.inputs[0], fgraph.outputs[2]
    probe = pt.vector("probe")
    hvp = pytensor.grad(pt.sum(likelihood_grad * probe), joined)
    return pytensor.function([joined, probe], hvp, mode="FAST_COMPILE", on_unused_input="ignore")


def _exact_diagonal(pilot):
    """Minus the likelihood Hessian's diagonal: one exact product with a unit vector per
    element."""
    exact = _exact_hvp(pilot)
    info = {}
    for noise in pilot.noises:
        k = pilot.where[noise]
        column = []
        for j in range(k.start, k.stop):
            e = np.zeros_like(pilot.x)
            e[j] = 1.0
            column.append(-exact(pilot.x, e)[j])
        info[noise] = np.reshape(column, pilot.shapes[noise])
    return info


def _exact_information(pilot):
    """Today's exact diagonal, clipped at 0 per element (the oracle)."""
    return {noise: np.clip(d, 0.0, None) for noise, d in _exact_diagonal(pilot).items()}


def test_hvp_information_is_exact_on_diagonal_blocks():
    group, y = simulate_hierarchical(12, np.arange(1, 13), seed=0)
    pilot = _pilot(varying_intercepts(group, y, sigma=None), ["alpha"])
    pilot.x = pilot.x + np.random.default_rng(1).normal(size=pilot.x.size)  # not only at start
    info = pilot.information()
    assert pilot.diagonal["alpha_eps"]
    np.testing.assert_allclose(info["alpha_eps"], _exact_information(pilot)["alpha_eps"], rtol=1e-7)


@pytest.mark.parametrize(
    "build, names",
    [
        (lambda: dbn(steps=4, latent_dim=3), ["z_1", "z_2", "z_3"]),  # tanh transitions
        (lambda: hierarchical_glm("logit", 80, 8, seed=4), ["alpha"]),
        (lambda: hierarchical_glm("poisson", 80, 8, seed=5), ["alpha"]),
    ],
    ids=["dbn", "logit", "poisson"],
)
def test_differenced_products_match_the_exact_hessian(build, names):
    """The pilot's products are differences of the likelihood gradient (central, and forward
    where the search just evaluated it): on nonlinear likelihoods, at points off the mode, they
    match reverse-over-reverse products to 1e-6 of the product."""
    pilot = _pilot(build(), names)
    exact = _exact_hvp(pilot)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = pilot.x + 0.5 * rng.normal(size=pilot.x.size)
        pilot._value_and_grad(x)  # the forward difference reuses this gradient
        for v in (rng.choice([-1.0, 1.0], size=x.size), rng.normal(size=x.size)):
            want = exact(x, v)
            for central in (True, False):
                got = pilot._hvp(x, v, central=central)
                tol = (1e-7 if central else 1e-5) * np.max(np.abs(want))
                np.testing.assert_allclose(got, want, rtol=0, atol=tol)


def test_coupled_blocks_are_detected_and_estimated():
    pilot = _pilot(dbn(steps=4, latent_dim=3), ["z_1", "z_2", "z_3"])
    info = pilot.information()
    exact = _exact_information(pilot)
    assert not any(pilot.diagonal.values())  # the chain couples the elements of every block
    for noise in pilot.noises:  # the block mean is what decides; it is close
        assert (
            abs(np.mean(info[noise]) - np.mean(exact[noise])) < 0.5 * np.mean(exact[noise]) + 0.05
        )


def test_estimated_block_mean_is_not_biased_up_by_clipping():
    """On a chain, one probe's off-diagonal noise per element is larger than the diagonal. Clipped
    at 0 per element before the block mean, the estimate came out 4x the exact mean here, and on
    the DBN at T=200 mean r 3.0 for 0.36 (the centered form picked, not the auxiliary)."""
    pilot = _pilot(dbn(steps=20, form="scan"), ["z"])
    exact = np.mean(_exact_diagonal(pilot)["z_eps"])
    estimates = [pilot.information()["z_eps"] for _ in range(20)]
    assert not pilot.diagonal["z_eps"]
    assert abs(np.mean(estimates) - exact) < 0.5 * exact, (np.mean(estimates), exact)
    assert all(np.ptp(e) == 0 for e in estimates)  # one number per block: its mean


def test_cost_does_not_grow_with_the_number_of_elements():
    calls = {}
    for n in (30, 3000):  # 100 times the group effects (and rows)
        choice = choose_centering(radon_style("intercept", 10 * n, n, seed=1), colours=4)
        assert choice.converged
        # a profile evaluation: two gradients and one product per diagonal block (here one)
        assert choice.hvp_calls <= choice.gradient_calls
        calls[n] = choice.gradient_calls + choice.hvp_calls
    assert calls[3000] <= 1.5 * calls[30], calls  # never one per element


def test_fixed_point_is_damped_on_many_small_groups():
    """Many groups of two rows: the undamped update of the Laplace correction cycled between
    full pooling and a wide tau until max_iter."""
    group, y = simulate_hierarchical(3000, 2, seed=3)
    choice = choose_centering(varying_intercepts(group, y, sigma=None))
    assert choice.converged and choice.iterations < 10


def test_stops_when_no_decision_changes():
    """Recurrent blocks are decided on their mean information, estimated with random signs: the
    estimate jitters between iterations, and a raw-lam tolerance kept the pilot iterating on
    an all-auxiliary decision (3 iterations here, 5 on the T=10 DBN)."""
    choice = choose_centering(dbn(steps=4, latent_dim=3))
    assert all(d.lam == 0.0 for d in choice.decisions.values())
    assert choice.converged and choice.iterations <= 2


REFERENCE = {
    "eight_schools": eight_schools,
    "funnel": funnel,
    "informative": lambda: varying_intercepts(*simulate_hierarchical(20, 50, seed=1)),
    "mixed": lambda: varying_intercepts(
        *simulate_hierarchical(15, np.r_[np.full(3, 200), np.full(12, 1)], seed=2)
    ),
    "radon_both": lambda: radon_style("both", 600, 20, seed=4),
    # a group-level predictor couples to every intercept (the plain L-BFGS pilot picked 0.8x)
    "radon_predictor": lambda: radon_style("predictor", 1000, 85, seed=21),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_decisions_equal_the_exact_method(name, monkeypatch):
    fast = choose_centering(REFERENCE[name]())
    monkeypatch.setattr(pilot_module.Pilot, "information", _exact_information_and_flag)
    exact = choose_centering(REFERENCE[name]())
    assert fast.decisions.keys() == exact.decisions.keys()
    for var, d in exact.decisions.items():
        np.testing.assert_allclose(fast.decisions[var].lam, d.lam, atol=0.02, err_msg=var)


def _exact_information_and_flag(self):
    self.diagonal = dict.fromkeys(self.noises, True)
    return _exact_information(self)


def test_roots_with_constant_parameters_are_kept_as_written_when_affine():
    choice = choose_centering(funnel())
    assert choice.decisions["v"].lam == 1.0 and "constant parameters" in choice.decisions["v"].why()
    assert choice.decisions["x"].lam == 0.0  # no data: the auxiliary form
    left = report(auxify(funnel(), centering="auto")).left
    assert [lft.name for lft in left] == ["v"] and "kept centered" in left[0].reason
    rng = np.random.default_rng(0)
    with pm.Model() as model:  # a root with coupled elements: the pilot decides, from the data
        w = pm.GaussianRandomWalk("w", sigma=0.1, init_dist=pm.Normal.dist(0, 1), steps=29)
        pm.Normal("y", w[:, None], 0.01, observed=np.cumsum(rng.normal(0, 0.1, 30))[:, None] + 0.0)
    walk = choose_centering(model).decisions["w"]
    assert walk.lam == 1.0 and "constant parameters" not in walk.why()  # data-rich: as written


def test_failed_pilot_warns_and_keeps_the_model_as_written(monkeypatch):
    def fail(self, prior):
        raise PilotFailed("the pilot mode is not finite")

    monkeypatch.setattr(pilot_module.Pilot, "move", fail)
    with pytest.warns(UserWarning, match="pilot failed"):
        choice = choose_centering(eight_schools())
    assert choice.failed and np.all(choice.decisions["theta"].lam == 1)  # what the pilot decides
    assert choice.decisions["mu"].lam == 1.0  # roots are decided without the pilot
    assert "pilot failed" in str(choice)


def test_bad_colours_is_an_error():
    with pytest.raises(ValueError, match="colours"):
        choose_centering(eight_schools(), colours=0)


def _ess_per_grad(model, names, draws, seeds):
    values = []
    for seed in seeds:
        with model:
            idata = pm.sample(
                draws=draws,
                tune=draws,
                chains=2,
                cores=1,
                random_seed=seed,
                progressbar=False,
                compute_convergence_checks=False,
            )
        values.append(sampling_metrics(idata, var_names=names).ess_per_grad)
    return float(np.mean(values))


def _picks_within(build, draws, factor=0.9, seeds=(5,)):
    names = [rv.name for rv in build().free_RVs]
    written = _ess_per_grad(build(), names, draws, seeds)
    aux = _ess_per_grad(auxify(build(), centering=0.0), names, draws, seeds)
    auto = _ess_per_grad(auxify(build(), centering="auto"), names, draws, seeds)
    assert auto >= factor * max(written, aux), (written, aux, auto)


def test_picks_centered_where_data_are_rich_and_auxiliary_where_weak():
    informative = REFERENCE["informative"]
    assert choose_centering(informative()).decisions["alpha"].lam > 0.8  # (nearly) centered
    assert choose_centering(eight_schools()).decisions["theta"].lam == 0.0
    _picks_within(informative, 300)
    _picks_within(eight_schools, 300)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["informative", "eight_schools", "mixed", "radon_both", "radon_predictor"]
)
def test_picks_within_best_fixed_form_per_gradient(name):
    # three seeds: one run of 2 x 1000 draws can get a stuck chain (seed 5 on radon_both: 4x
    # below its mean over seeds 0-4, whatever the form)
    _picks_within(REFERENCE[name], 1000, seeds=(0, 1, 2))


def _two_crossed_factors():
    """Two crossed group effects of different sizes (10 and 7 groups): no element-by-element
    pairing, so the profile search's Newton steps take conjugate gradients."""
    rng = np.random.default_rng(11)
    g1, g2 = rng.integers(0, 10, 400), rng.integers(0, 7, 400)
    y = rng.normal(0.5, 0.3, 10)[g1] + rng.normal(0.0, 0.8, 7)[g2] + rng.normal(0, 1, 400)
    with pm.Model() as model:
        tau_a = pm.HalfNormal("tau_a", 1.0)
        tau_b = pm.HalfNormal("tau_b", 1.0)
        a = pm.Normal("a", 0.0, tau_a, shape=10)
        b = pm.Normal("b", 0.0, tau_b, shape=7)
        pm.Normal("y", a[g1] + b[g2], 1.0, observed=y)
    return model


@pytest.mark.parametrize(
    "build, names",
    [
        (lambda: radon_style("both", 600, 20, seed=4), ["alpha", "beta"]),  # k x k per element
        (_two_crossed_factors, ["a", "b"]),  # conjugate gradients
    ],
)
def test_profile_search_reaches_a_stationary_point(build, names):
    """Every coordinate's gradient of the corrected objective (the correction it searched with)
    is below 1/1000 of the gradient where the search started."""
    model = build()
    pilot = _pilot(model, names)
    prior = dict.fromkeys(pilot.noises, 1.0)
    scale = np.max(np.abs(pilot._value_and_grad(pilot.x)[1]))  # gradient where it starts
    pilot.start(prior)  # diagonal blocks, and the first correction from the initial point
    for _ in range(2):  # the second search has a nonzero Laplace correction
        searched = {n: pilot.c[n].get_value().copy() for n in pilot.noises}
        pilot.move(prior)  # searches with ``searched``, then sets the next correction
        assert all(pilot.diagonal[n] for n in pilot.noises)
        following = {n: pilot.c[n].get_value().copy() for n in pilot.noises}
        for n, c in searched.items():
            pilot.c[n].set_value(c)
        _, gradient = pilot._value_and_grad(pilot.x)
        assert np.max(np.abs(gradient)) < 1e-3 * scale, (np.max(np.abs(gradient)), scale)
        for n, c in following.items():
            pilot.c[n].set_value(c)


def test_later_searches_start_from_the_profiles_hessian(monkeypatch):
    """The searches after the first start from the profile's Hessian (by differences, then the
    last search's estimate): fewer evaluations than L-BFGS started without curvature, and the
    same information at the modes they find (to 1e-2 relative, far below what lam = r/(1+r) on
    its 0.05 grid resolves; the searches' tolerance leaves 2e-3)."""
    found = {}
    for warm in (True, False):
        if not warm:
            monkeypatch.setattr(Pilot, "_outer_start", lambda self, *args: None)
        pilot = _pilot(radon_style("both", 600, 20, seed=4), ["alpha", "beta"])
        prior = dict.fromkeys(pilot.noises, 1.0)
        pilot.start(prior)
        calls = []
        for _ in range(3):
            before = pilot.gradient_calls
            info = pilot.move(prior)
            calls.append(pilot.gradient_calls - before)
            if warm and len(calls) > 1:
                assert pilot._last_search[2] is not None  # BFGS from the Hessian
        found[warm] = (info, calls)
    (warm_info, warm_calls), (cold_info, cold_calls) = found[True], found[False]
    assert warm_calls[0] == cold_calls[0]  # the first search is the same L-BFGS
    assert sum(warm_calls[1:]) < 0.8 * sum(cold_calls[1:]), (warm_calls, cold_calls)
    for noise, info in warm_info.items():
        np.testing.assert_allclose(info, cold_info[noise], rtol=1e-2)


def test_second_search_starts_from_the_inverse_of_the_differenced_hessian():
    """On a quadratic profile the forward differences of its gradient are exact: the start is
    the inverse of its Hessian (an earlier version averaged it with ``L^-1 L^-T``, another
    positive definite matrix, which BFGS still accepted), and nothing without enough evaluations
    in the first search or with an indefinite Hessian."""
    from pymc_auxform._profile import ProfileSearch

    rng = np.random.default_rng(2)
    m = rng.normal(size=(4, 4))
    hessian = m @ m.T + 4 * np.eye(4)
    center = rng.normal(size=4)

    def profile(y):
        d = np.asarray(y) - center
        return 0.5 * d @ hessian @ d, hessian @ d

    search = ProfileSearch()
    mask = np.zeros(6, dtype=bool)
    mask[:2] = True
    search._last_search = (mask, 11, None)  # more than 2 (n + 1) evaluations
    start = search._outer_start(mask, profile, rng.normal(size=4))
    np.testing.assert_allclose(start, np.linalg.inv(hessian), rtol=1e-8, atol=1e-12)
    search._last_search = (mask, 10, None)
    assert search._outer_start(mask, profile, rng.normal(size=4)) is None
    search._last_search = (mask, 11, None)

    def saddle(y):
        return 0.0, np.diag([1.0, -1.0, 1.0, 1.0]) @ np.asarray(y)

    assert search._outer_start(mask, saddle, np.zeros(4)) is None


@pytest.mark.parametrize("mode", [None, "pilot_mode"])
def test_likelihood_gradient_function_computes_the_objectives_numbers(mode):
    """The products' own function of the likelihood gradient (compiled after the first
    ``_GRADIENT_ONLY_AFTER`` forward products) returns the objective's third output to the bit,
    in the lean path and through ``pytensor.function``; the graph of the objective is left
    intact (it is evaluated again after)."""
    model = radon_style("both", 600, 20, seed=4)
    aux, rep = rewrite_model(model)
    targets = [(r.name, r.noise[0], True) for r in rep.rewritten if r.name in ("alpha", "beta")]
    mode = pilot_module.pilot_mode() if mode else None
    pilot = Pilot(aux, model, targets, np.random.default_rng(0), mode)
    x = pilot.x + np.random.default_rng(1).normal(0, 0.1, pilot.x.size)
    expected = np.asarray(pilot._objective(x)[2]).copy()
    assert pilot._gradient_only is None
    for _ in range(pilot_module._GRADIENT_ONLY_AFTER):
        assert np.array_equal(pilot._likelihood_gradient(x, compile=True), expected)
    assert pilot._gradient_only is not None
    assert np.array_equal(pilot._likelihood_gradient(x), expected)
    assert np.array_equal(np.asarray(pilot._objective(x)[2]), expected)


def test_chosen_lams_have_their_variables_shapes(monkeypatch):
    """``auxify``'s final rewrite takes the choice's per-element lams without evaluating the
    variables' shapes (``check_lam_shapes=False``): every array lam has its variable's shape,
    the model's built the same way, and no shape is evaluated."""
    import pymc_auxform.rewrite as rewrite_module

    def evaluated(*args):
        raise AssertionError("a shape was evaluated")

    model = radon_style("both", 600, 20, seed=4)
    monkeypatch.setattr(rewrite_module, "_check_lam_shape", evaluated)
    new = auxify(model)
    point = model.initial_point()
    arrays = {n: lam for n, lam in report(new).centering.lam.items() if np.ndim(lam) > 0}
    assert arrays  # the test needs per-element decisions
    for name, lam in arrays.items():
        assert np.shape(lam) == point[model.rvs_to_values[model[name]].name].shape
    monkeypatch.undo()  # a user's arrays are checked
    given = auxify(model, centering=dict(report(new).centering.lam))
    oracles.assert_same_logp(new, given, n_points=2, rtol=1e-12)


def test_unsettled_choice_warns():
    """One fixed-point iteration cannot show that lam settled: say so, do not stay silent."""
    with pytest.warns(UserWarning, match="still moved"):
        choice = choose_centering(REFERENCE["mixed"](), max_iter=1)
    assert not choice.converged


def test_kinked_likelihood_fails_safely():
    """A Laplace likelihood has a kink at each data point, where the profile's inner solution of
    a two-row group lands: a difference of gradients across it read a spike as information and
    centered that group (lam 1) where the other groups got 0. The information's products are
    checked against the forward difference from the same evaluations: the pilot fails, says
    why, and keeps the variables as written."""
    rng = np.random.default_rng(0)
    counts = np.r_[np.full(5, 100), np.full(10, 2)]
    group = np.repeat(np.arange(15), counts)
    y = rng.normal(0.0, 1.0, 15)[group] + rng.laplace(0.0, 0.5, group.size)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 2.0)
        a = pm.Normal("a", mu, tau, shape=15)
        pm.Laplace("y", a[group], 0.5, observed=y)
    with pytest.warns(UserWarning, match="not smooth"):
        choice = choose_centering(model)
    assert choice.failed and choice.lam["a"] == 1.0


@pytest.mark.parametrize("nu", [3.0, 30.0])
def test_smooth_heavy_tailed_likelihood_is_not_taken_for_a_kink(nu):
    """Student-t likelihoods are smooth but not log-concave: the Hessian changes sign in the
    tails, where a relative check alone would flag elements whose information is near 0."""
    group, y = simulate_hierarchical(15, np.r_[np.full(5, 60), np.full(10, 2)], seed=6)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 2.0)
        a = pm.Normal("a", mu, tau, shape=15)
        pm.StudentT("y", nu=nu, mu=a[group], sigma=0.5, observed=y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        choice = choose_centering(model)
    assert not choice.failed and choice.converged


def test_choice_runs_blas_on_one_thread_and_restores_it(monkeypatch):
    """The pilot's small products run on one BLAS thread (through a controller found once, not
    looked up per call); the caller's setting is back afterwards, on every call."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import pymc_auxform.centering as centering

    seen = []
    choose = centering._choose

    def recording(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return choose(*args, **kwargs)

    monkeypatch.setattr(centering, "_choose", recording)
    with threadpool_limits(limits=2, user_api="blas"):
        for _ in range(2):
            choose_centering(eight_schools())
            after = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
            assert after == {2}
    assert seen == [{1}, {1}]
