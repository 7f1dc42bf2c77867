"""Innovations forms: GaussianRandomWalk, RandomWalk, AR and scan-based CustomDists (the DBN)."""

import time

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest

from pymc.pytensorf import collect_default_updates
from scipy import stats

from pymc_auxform import auxify, report
from pymc_auxform.reference_models import dbn
from tests.oracles import FAST, assert_same_logp, assert_same_prior

MODE = FAST
N = 2000  # batch copies: one draw of a batched model = N iid prior draws


def assert_same_batched_prior(m_aux, m_ref, name, seed=1):
    """KS per element along the last axes of two ``(N, ...)`` draws."""
    assert_same_prior(m_aux, m_ref, [name], seed=seed, batch=N, mode=MODE)


# --- GaussianRandomWalk / RandomWalk ------------------------------------------------------------

Y = np.array([[0.1, 0.5, 0.2, -0.3, 0.0, 0.4], [1.0, 1.2, 0.8, 0.9, 1.5, 1.1]])


def grw(*, hand=False, batch=2):
    with pm.Model(coords={"grp": range(batch), "t": range(6)}) as m:
        s = pm.HalfNormal("s", 1.0, dims="grp")
        if hand:
            e = pm.Normal("z_eps", dims=("grp", "t"))
            steps = pt.concatenate([2.0 * e[:, :1], s[:, None] * e[:, 1:]], axis=-1)
            z = pm.Deterministic("z", pt.cumsum(steps, axis=-1), dims=("grp", "t"))
        else:
            init = pm.Normal.dist(0.0, 2.0)
            z = pm.GaussianRandomWalk("z", sigma=s, init_dist=init, steps=5, dims=("grp", "t"))
        if batch == 2:
            pm.Normal("y", z, 1.0, observed=Y, dims=("grp", "t"))
    return m


def test_grw_innovations_logp_dims_and_report():
    aux = auxify(grw(), centering=0.0)
    (row,) = [r for r in report(aux).rewritten if r.name == "z"]
    assert (row.form, row.noise) == ("innovations", ("z_eps",))
    assert aux.named_vars_to_dims["z_eps"] == ("grp", "t")
    assert aux.named_vars_to_dims["z"] == ("grp", "t")
    assert aux["z_eps"] in aux.free_RVs and aux["z"] in aux.deterministics
    assert_same_logp(aux, grw(hand=True))


def test_grw_prior_matches():
    m = grw(batch=N)
    assert_same_batched_prior(auxify(m, centering=0.0), m, "z")


def test_random_walk_studentt_innovations_two_noises():
    def model(hand=False, batch=1):
        with pm.Model() as m:
            s = pm.HalfNormal("s", 1.0, shape=(batch,))
            if hand:
                e0 = pm.Normal("r_init_eps", shape=(1, batch))
                e = pm.StudentT("r_eps", nu=3.0, shape=(4, batch))
                r = pt.cumsum(pt.concatenate([e0, s * e], axis=0), axis=0).T
                pm.Deterministic("r", r)
            else:
                innov = pm.StudentT.dist(nu=3.0, mu=0.0, sigma=s)
                init = pm.Normal.dist(0.0, 1.0)
                r = pm.RandomWalk("r", init_dist=init, innovation_dist=innov, steps=4)
            pm.Normal("y", r, 1.0, observed=np.zeros((batch, 5)))
        return m

    aux = auxify(model(), centering=0.0)
    assert report(aux).noise_names["r"] == ("r_init_eps", "r_eps")
    assert_same_logp(aux, model(hand=True))
    m = model(batch=N)
    assert_same_batched_prior(auxify(m, centering=0.0), m, "r")


# --- AR ---------------------------------------------------------------------------------------


def ar_model(*, hand=False, batch=2, init=None):
    with pm.Model() as m:
        rho = 0.4 * pm.Normal("rho", 0.0, 1.0, shape=(batch, 3))  # constant, rho_1, rho_2
        s = pm.HalfNormal("s", 1.0, shape=batch)
        if hand:
            e = pm.Normal("z_eps", shape=(batch, 6))
            z = [e[:, 0], e[:, 1]]
            for t in range(2, 6):
                z.append(rho[:, 0] + rho[:, 1] * z[t - 1] + rho[:, 2] * z[t - 2] + s * e[:, t])
            z = pm.Deterministic("z", pt.stack(z, axis=-1))
        else:
            init_dist = pm.Normal.dist(0.0, 1.0) if init is None else init
            z = pm.AR(
                "z", rho=rho, sigma=s, constant=True, init_dist=init_dist, steps=4, shape=(batch, 6)
            )
        pm.Normal("y", z, 1.0, observed=np.ones((batch, 6)))
    return m


def test_ar_logp_equals_unrolled_hand_written():
    aux = auxify(ar_model(), centering=0.0)
    assert {r.name: r.form for r in report(aux).rewritten}["z"] == "innovations"
    assert_same_logp(aux, ar_model(hand=True))


def test_ar_prior_matches():
    m = ar_model(batch=N)
    assert_same_batched_prior(auxify(m, centering=0.0), m, "z")


def test_ar_non_normal_init_gets_its_own_noise():
    m = ar_model(init=pm.StudentT.dist(nu=4.0, mu=0.0, sigma=2.0), batch=N)
    aux = auxify(m, centering=0.0)
    assert report(aux).noise_names["z"] == ("z_init_eps", "z_eps")
    assert_same_batched_prior(aux, m, "z")


# --- scan-based CustomDist --------------------------------------------------------------------


def _dbn_rename(steps):
    def rename(point):
        out = {"z_0": point["z_0"]}
        out.update({f"z_{t}_eps": point["z_eps"][t - 1] for t in range(1, steps)})
        return out

    return rename


def test_dbn_scan_form_logp_equals_hand_written_loop():
    """auxify(DBN written with scan) == the hand-written non-centered loop, point by point."""
    aux = auxify(dbn(steps=5, latent_dim=3, form="scan"), centering=0.0)
    (row,) = [r for r in report(aux).rewritten if r.name == "z"]
    assert (row.form, row.noise) == ("innovations", ("z_eps",))
    assert aux.named_vars_to_dims["z_eps"] == ("trans", "latent")
    hand = dbn(steps=5, latent_dim=3, form="loop", noncentered=True)
    assert_same_logp(aux, hand, rename=_dbn_rename(5))
    dlogp = aux.compile_dlogp(mode=MODE)
    assert np.all(np.isfinite(dlogp(aux.initial_point())))


def test_dbn_scan_form_prior_matches():
    m = dbn(steps=4, latent_dim=2, form="scan")
    aux = auxify(m, centering=0.0)
    a = pm.draw(aux["z"], draws=800, random_seed=1, mode=MODE).reshape(800, -1)
    b = pm.draw(m["z"], draws=800, random_seed=2, mode=MODE).reshape(800, -1)
    for j in range(a.shape[1]):
        assert stats.ks_2samp(a[:, j], b[:, j]).pvalue > 1e-3


def _walk_dist(family):
    def dist(z0, s, size):
        def step(z_prev, s):
            if family == "studentt":
                z = pm.StudentT.dist(nu=4.0, mu=0.9 * z_prev, sigma=s)
            else:
                z = pm.Beta.dist(alpha=1.0 + pt.abs(z_prev), beta=s)
            return z, collect_default_updates([z])

        return pytensor.scan(
            step,
            outputs_info=[z0],
            non_sequences=[s],
            n_steps=5,
            strict=True,
            return_updates=True,
        )[0].T

    return dist


def test_scan_with_studentt_steps_and_batch():
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1.0, shape=N)
        pm.CustomDist("w", np.zeros(N), s, dist=_walk_dist("studentt"), shape=(N, 5))
    aux = auxify(m, centering=0.0)
    assert report(aux).noise_names["w"] == ("w_eps",)
    assert aux["w_eps"].owner.op.name == "t"  # StudentT noise, one per step and element
    assert_same_batched_prior(aux, m, "w")


def test_scan_step_without_loc_scale_form_is_left():
    with pm.Model() as m:
        s = pm.HalfNormal("s", 1.0)
        pm.CustomDist("w", np.float64(0.5), s, dist=_walk_dist("beta"), shape=5)
    (left,) = [lft for lft in report(auxify(m, centering=0.0)).left if lft.name == "w"]
    assert "Beta" in left.reason


# --- posterior: DBN loop vs scan ----------------------------------------------------------------


def _posterior(model, *, draws, tune, seed, sampler="pymc"):
    """Sample; returns (idata, sampling seconds). nutpie's time excludes compilation."""
    if sampler == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)
        start = time.perf_counter()
        idata = nutpie.sample(
            compiled, draws=draws, tune=tune, chains=2, cores=1, seed=seed, progress_bar=False
        )
        return idata, time.perf_counter() - start
    start = time.perf_counter()
    with model:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=2,
            cores=1,
            random_seed=seed,
            progressbar=False,
            nuts_sampler="pymc",
            compute_convergence_checks=False,
            compile_kwargs={"mode": "FAST_COMPILE"},
        )
    return idata, time.perf_counter() - start


def _z_summary(idata, steps, form):
    import arviz as az

    post = idata.posterior
    if form == "scan":
        z = np.concatenate([post["z_0"].values[..., None, :], post["z"].values], axis=-2)
    else:
        z = np.stack([post[f"z_{t}"].values for t in range(steps)], axis=-2)
    flat = z.reshape(*z.shape[:2], -1)
    mean = flat.mean(axis=(0, 1))
    mcse = np.array([float(az.mcse(flat[..., j], method="mean")) for j in range(flat.shape[-1])])
    return mean, mcse


def check_dbn_loop_vs_scan(
    steps, latent_dim, *, draws, tune, seed, min_speedup=None, sampler="pymc"
):
    loop, scan = dbn(steps, latent_dim, form="loop"), dbn(steps, latent_dim, form="scan")
    runs = {}
    for label, model in [
        ("aux_loop", auxify(loop, centering=0.0)),
        ("aux_scan", auxify(scan, centering=0.0)),
    ]:
        runs[label] = _posterior(model, draws=draws, tune=tune, seed=seed, sampler=sampler)
    m_loop, se_loop = _z_summary(runs["aux_loop"][0], steps, "loop")
    m_scan, se_scan = _z_summary(runs["aux_scan"][0], steps, "scan")
    z = (m_loop - m_scan) / np.sqrt(se_loop**2 + se_scan**2)
    assert np.max(np.abs(z)) < 4.5, f"posterior means differ: max |z| = {np.max(np.abs(z)):.2f}"
    if min_speedup is not None:
        import arviz as az

        orig, secs = _posterior(loop, draws=draws, tune=tune, seed=seed, sampler=sampler)
        names = [v.name for v in loop.free_RVs]

        def ess_per_s(idata, seconds, var_names):
            ess = az.ess(idata, var_names=var_names, method="bulk")
            return min(float(np.min(ess[n])) for n in var_names) / seconds

        base = ess_per_s(orig, secs, names)
        for label, names_ in [("aux_loop", names), ("aux_scan", ["z_0", "z"])]:
            ratio = ess_per_s(*runs[label], names_) / base
            assert ratio >= min_speedup, f"{label}: {ratio:.1f}x ESS/s of the original loop"


def test_dbn_loop_and_scan_posteriors_agree_small():
    check_dbn_loop_vs_scan(4, 2, draws=250, tune=250, seed=11)


@pytest.mark.slow
def test_dbn_loop_and_scan_posteriors_agree_and_mix_10x_faster():
    check_dbn_loop_vs_scan(
        20, 10, draws=1000, tune=1000, seed=11, min_speedup=10.0, sampler="nutpie"
    )
