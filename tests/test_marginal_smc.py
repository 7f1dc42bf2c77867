"""log p(x) by SMC with HMC moves on coupled latents, against exact values: a linear-Gaussian
state-space model (Kalman filter, in ``test_marginal_ais``) and the factor model (marginal
Gaussian, in ``test_marginal_honest``)."""

import numpy as np
import pytest

from pymc_auxform._ais import smc_unreliable
from pymc_auxform.marginal import estimate_log_marginal
from pymc_auxform.marginal_result import UnreliableEstimateWarning
from tests.test_marginal_ais import state_space
from tests.test_marginal_honest import factor_model

SMALL = dict(n_samples=256, n_moves=5, random_seed=0, mode="FAST_RUN")


def assert_within_3_se(res, exact):
    assert res.method == "smc" and res.independent_dim is None
    assert res.khat <= 0.7 and np.isfinite(res.se) and res.se > 0
    assert abs(res.estimate - exact) < 3 * res.se, (res.estimate, res.se, exact)
    assert len(res.runs) == 4 and res.runs.std() > 0  # independent runs


def test_state_space_matches_the_kalman_filter():
    model, exact = state_space(t_len=13)  # 52 coupled latents: "auto" picks SMC
    res = estimate_log_marginal(model, use_auxiliary=False, **SMALL)
    assert_within_3_se(res, exact)


def test_factor_model_in_one_block_matches_the_exact_value():
    model, exact = factor_model(n=10)  # 20 latents, no independent dim used
    res = estimate_log_marginal(model, method="smc", independent_dim=False, **SMALL)
    assert_within_3_se(res, exact)


def test_too_few_moves_are_flagged_not_trusted():
    model, _ = state_space(t_len=5)
    with pytest.warns(UnreliableEstimateWarning, match="smc"):
        res = estimate_log_marginal(
            model,
            method="smc",
            use_auxiliary=False,
            n_moves=1,
            n_leapfrog=1,
            threshold=0.05,
            n_samples=64,
            random_seed=0,
            mode="FAST_RUN",
        )
    assert np.isnan(res.se) and not res.reliable and res.khat > 0.7


@pytest.mark.slow
def test_state_space_t50_matches_the_kalman_filter():
    model, exact = state_space(t_len=50)  # 200 coupled latents
    res = estimate_log_marginal(model, method="smc", use_auxiliary=False, random_seed=0)
    assert_within_3_se(res, exact)


def test_each_failure_of_smc_is_named():
    good = {"khat": 0.3, "drift": 0.01, "drift_noise": 0.05, "correlation": 0.05}
    runs = np.array([-10.0, -10.1, -9.9, -10.05])
    assert smc_unreliable(runs, good, 0.05, 0.7) == []
    bad = [
        ({**good, "khat": 0.9}, runs, "k-hat"),
        (good, np.array([-10.0, -12.0, -9.0, -11.5]), "sd of log Z"),
        ({**good, "correlation": 0.8}, runs, "correlated"),
        ({**good, "drift": -0.5}, runs, "collapsed"),
    ]
    for stats, log_z, match in bad:
        (reason,) = smc_unreliable(log_z, stats, 0.05, 0.7)
        assert match in reason
