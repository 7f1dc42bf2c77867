"""The centering kept over the posterior reach of a group's scale (pymc_auxform._reach).

Oracles: the exact marginal posterior of the Normal-Normal model (group effects integrated out in
closed form, the location profiled on a grid) for the reach; the closed-form width of a partially
centered element, evaluated on a fine grid, for the rule; and divergent draws for what it fixes.
"""

import numpy as np
import pymc as pm
import pytest

from scipy.stats import norm

from pymc_auxform import auxify, choose_centering, report
from pymc_auxform._reach import _NARROWEST, ScaleReach, _Side, _tail_reach, lam_for_reach
from pymc_auxform.reference_models import hierarchical_glm

GRID = np.round(np.arange(0, 1.0001, 0.05), 10)


def _widths(lam, r, deltas):
    """Width of a partially centered element at scale e^delta over its width at the mode."""
    lam, r = np.asarray(lam)[..., None], np.asarray(r)[..., None]
    return np.exp(lam * deltas) * np.sqrt((1 + r) / (1 + r * np.exp(2 * deltas)))


def _normal_normal(n_groups, s_low, s_high, tau, seed):
    rng = np.random.default_rng(seed)
    s = np.linspace(s_low, s_high, n_groups)
    y = rng.normal(1.0, np.sqrt(tau**2 + s**2))
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfNormal("tau", 1)
        theta = pm.Normal("theta", mu, tau, shape=n_groups)
        pm.Normal("y", theta, s, observed=y)
    return model, y, s


def _exact_reach(y, s, level=5.5):
    """Where the exact marginal posterior of log tau (theta integrated out, mu profiled) drops by
    ``level`` below its mode, on each side, relative to the mode."""
    log_tau = np.linspace(-9, 3, 4001)[:, None]
    mu = np.linspace(-6, 8, 1401)[None, :]
    tau = np.exp(log_tau)
    lp = norm.logpdf(mu, 0, 5) + norm.logpdf(tau, 0, 1) + log_tau  # + Jacobian of log tau
    sd = np.sqrt(tau[..., None] ** 2 + s**2)
    lp = lp + np.sum(norm.logpdf(y, mu[..., None], sd), axis=-1)
    profile = lp.max(axis=1)
    k = int(profile.argmax())
    grid = log_tau.ravel()
    low = grid[:k][profile[:k] < profile[k] - level].max() - grid[k]
    high = grid[k:][profile[k:] < profile[k] - level].min() - grid[k]
    return low, high


def _without_floor(monkeypatch):
    """The reach searched to its end on both sides (no early end once every lam is 0)."""
    search = ScaleReach.scale_reach

    def without_floor(self, *args, **kwargs):
        kwargs["floor"] = None
        return search(self, *args, **kwargs)

    monkeypatch.setattr(ScaleReach, "scale_reach", without_floor)


@pytest.mark.parametrize(
    "n_groups, s_low, s_high, tau",
    [(40, 0.2, 1.0, 1.0), (12, 0.5, 2.0, 0.5), (8, 1.0, 3.0, 0.3)],
    ids=["well identified", "moderate", "weakly identified"],
)
def test_reach_matches_the_exact_marginal_posterior(n_groups, s_low, s_high, tau, monkeypatch):
    _without_floor(monkeypatch)  # the whole reach, even where a part of it decides already
    model, y, s = _normal_normal(n_groups, s_low, s_high, tau, seed=3)
    decision = choose_centering(model).decisions["theta"]
    low, high = _exact_reach(y, s)
    # every element's scale is tau: one reach for all of them
    assert np.ptp(decision.reach[0]) < 1e-6 and np.ptp(decision.reach[1]) < 1e-6
    got_low, got_high = float(decision.reach[0].flat[0]), float(decision.reach[1].flat[0])
    assert got_low == pytest.approx(low, rel=0.15, abs=0.05)
    assert got_high == pytest.approx(high, rel=0.15, abs=0.05)


def test_well_identified_scale_keeps_the_choice_at_the_mode():
    model, _, _ = _normal_normal(40, 0.2, 1.0, 1.0, seed=3)
    decision = choose_centering(model).decisions["theta"]
    assert np.any((decision.lam_at_mode > 0) & (decision.lam_at_mode < 1))
    np.testing.assert_array_equal(decision.lam, decision.lam_at_mode)
    assert "reach" in decision.why()


def test_weakly_identified_scale_lowers_lam_and_keeps_widths():
    model, _, _ = _normal_normal(8, 1.0, 3.0, 0.3, seed=3)
    decision = choose_centering(model).decisions["theta"]
    at_mode = np.asarray(decision.lam_at_mode)
    lam = np.broadcast_to(decision.lam, at_mode.shape)
    assert np.all(lam <= at_mode) and np.any(lam < at_mode)
    low, high = (float(e.flat[0]) for e in decision.reach)
    deltas = np.linspace(low, high, 801)
    narrowest = _widths(lam, decision.ratio, deltas).min(axis=-1)
    # those kept partly centered keep their width; the others are at 0 (the pure rewrite, whose
    # width only grows below the mode)
    kept = lam > 0
    assert np.all(narrowest[kept] >= _NARROWEST - 0.01)
    assert np.all(lam[at_mode >= 0.5] == 0)  # no value keeps the width: 0


@pytest.mark.parametrize("seed", range(5))
def test_lam_for_reach_is_the_nearest_value_keeping_the_width(seed):
    rng = np.random.default_rng(seed)
    n = 300
    r = np.exp(rng.uniform(-4, 4, n))
    lam = rng.choice(GRID, n)
    low, high = -rng.exponential(1.5, n), rng.exponential(0.7, n)
    got = lam_for_reach(lam, r, low, high)
    deltas = np.linspace(0, 1, 801)[None, :] * (high - low)[:, None] + low[:, None]
    for i in range(n):
        narrowest = _widths(GRID, r[i], deltas[i]).min(axis=-1)  # per grid value
        # (clearly) keeping the width on the fine grid, or 0, which is always allowed
        ok = (narrowest >= _NARROWEST + 0.01) | (GRID == 0)
        best = np.min(np.abs(GRID[ok] - lam[i]))
        assert abs(got[i] - lam[i]) <= best + 1e-9, (r[i], lam[i], got[i])
        if got[i] > 0:
            assert _widths(got[i], r[i], deltas[i]).min() >= _NARROWEST - 0.02


def test_lam_for_reach_changes_nothing_without_a_reach():
    lam = np.array([0.0, 0.2, 0.45, 0.8, 1.0])
    r = lam / (1 - np.minimum(lam, 0.99)) + 0.01
    np.testing.assert_array_equal(lam_for_reach(lam, r, 0.0, 0.0), lam)


@pytest.mark.parametrize("b", [0.5, 1.0, 3.0])
def test_tail_reach_is_exact_on_its_tail_family(b):
    def drop(t):
        return b**2 * (np.sqrt(1 + (t / b) ** 2) - 1)

    t = np.linspace(0, 20, 200001)
    exact = t[np.argmin(np.abs(drop(t) - 5.5))]
    assert _tail_reach(drop(2.0), 2.0, 5.5, 50.0) == pytest.approx(exact, abs=1e-3)


def test_tail_reach_of_a_gaussian_and_the_limits():
    assert _tail_reach(2.0, 2.0, 5.5, 50.0) == pytest.approx(np.sqrt(11.0))
    assert _tail_reach(8.0, 2.0, 5.5, 50.0) == pytest.approx(2 * np.sqrt(5.5 / 8))  # lighter
    assert _tail_reach(0.0, 2.0, 5.5, 8.0) == 8.0  # flat: at most ``furthest``
    assert _tail_reach(np.nan, 2.0, 5.5, 8.0) == 8.0
    assert _tail_reach(0.3, 2.0, 5.5, 8.0) == 8.0


def _divergences(model, seeds):
    total = 0
    for seed in seeds:
        with model:
            idata = pm.sample(
                draws=500,
                tune=500,
                chains=2,
                cores=1,
                random_seed=seed,
                progressbar=False,
                compute_convergence_checks=False,
            )
        total += int(idata.sample_stats["diverging"].sum())
    return total


def _weak_logit_divergences(seeds):
    """A 40-group logit model with a weakly identified scale: with lam chosen at the pilot's
    mode (up to 0.65) it diverged on 4 of 6 seeds (29 draws), the auxiliary form on none; with
    the widths kept at 1/2, a chain stuck in the neck on one seed (133 draws)."""
    model = hierarchical_glm("logit", 300, 40, seed=5)
    aux = auxify(model)
    decision = report(aux).centering.decisions["alpha"]
    assert np.max(decision.lam) < np.max(decision.lam_at_mode)
    return _divergences(aux, seeds)


def test_weak_scale_auto_does_not_diverge_small():
    # seeds on which lam at the mode gave 3 and 22 divergent draws
    assert _weak_logit_divergences([20131306, 20131307]) == 0


@pytest.mark.slow
def test_weak_scale_auto_does_not_diverge():
    # every group gets 0 there (the auxiliary form: no divergent draw on 6 seeds), against 29 and
    # 133 divergent draws before
    assert _weak_logit_divergences(range(20131306, 20131312)) == 0


def _side(profile):
    """A one-hyperparameter side whose profile drop at ``t`` is ``profile(t)``."""

    def solve(x):
        return x, float(profile(x[0])), np.zeros_like(x)

    return _Side(solve, np.zeros(1), 0.0, np.array([0]), np.ones(1), np.eye(1), np.ones(1))


def test_side_search_reaches_the_level_on_a_heavy_tail():
    b = 0.5

    def profile(t):
        return b**2 * (np.sqrt(1 + (t / b) ** 2) - 1)

    x, t, reach = _side(profile).reach(2.0, 5.5, 50.0, 3, 3)
    assert profile(reach) == pytest.approx(5.5, abs=0.05)
    assert x[0] == t  # the last point evaluated


def test_side_search_stops_at_the_last_finite_point():
    def profile(t):  # a heavy tail where the density ends 3 units out
        return 0.25 * (np.sqrt(1 + 4 * t**2) - 1) if t < 3 else np.inf

    x, t, reach = _side(profile).reach(2.0, 5.5, 50.0, 3, 3)
    assert t == reach == 2.0 and x[0] == 2.0
    assert _side(lambda t: np.inf).reach(2.0, 5.5, 50.0, 3, 3) is None


def test_side_search_ends_where_enough_says_within_the_reach():
    def profile(t):  # slower than the tail family: three steps out
        return 0.5 * np.log1p(t * t)

    asked = []

    def enough(x):
        asked.append(float(x[0]))
        return x[0] >= 20.0

    side = _side(profile)
    x, t, reach = side.reach(2.0, 5.5, 50.0, 3, 3, enough)
    assert len(asked) == len(set(asked)) == 2  # each point once, only within the reach
    assert all(profile(a) <= 5.5 for a in asked)
    assert side.enough and t == reach == x[0] >= 20.0  # the reach is then a lower bound
    full_side = _side(profile)
    full = full_side.reach(2.0, 5.5, 50.0, 3, 3)
    assert full[2] > t and not full_side.enough


def test_early_end_of_the_reach_changes_no_decision(monkeypatch):
    """Where a known part of the reach already takes every element to 0 (a longer reach only
    lowers lam), the search ends there: the same decisions, fewer evaluations (the weakly
    identified 40-group logit model: 12 profile evaluations on its low side without it)."""
    model = hierarchical_glm("logit", 300, 40, seed=5)
    early = choose_centering(model)
    _without_floor(monkeypatch)
    full = choose_centering(model)
    for name, decision in full.decisions.items():
        np.testing.assert_array_equal(early.decisions[name].lam, decision.lam)
    assert np.all(np.asarray(early.decisions["alpha"].lam) == 0)
    assert early.gradient_calls < full.gradient_calls
    low_early, low_full = early.decisions["alpha"].reach[0], full.decisions["alpha"].reach[0]
    assert np.all(low_full <= low_early) and np.all(low_early < 0)
    assert "at least" in early.decisions["alpha"].why()
    assert "at least" not in full.decisions["alpha"].why()


def test_reach_not_estimated_warns_and_keeps_the_choice_at_the_mode(monkeypatch):
    model, _, _ = _normal_normal(8, 1.0, 3.0, 0.3, seed=3)
    plain = choose_centering(model).decisions["theta"]
    monkeypatch.setitem(ScaleReach.scale_reach.__kwdefaults__, "max_hyper", 1)
    with pytest.warns(UserWarning, match=r"reach of the scale of \['theta'\] was not estimated"):
        decision = choose_centering(model).decisions["theta"]
    assert decision.reach is None and decision.lam_at_mode is None
    np.testing.assert_array_equal(decision.lam, plain.lam_at_mode)
