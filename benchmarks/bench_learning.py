"""Learning benchmark: MCMC-EM vs EM-free learning (MC likelihood), and the compile backend.

1. Factor model (N=300 training rows, D=5, one factor; 300 held-out rows): ``stochastic_em`` and
   ``fit_mc_likelihood`` (L = 8 noise draws) with their defaults learn (w, b, s); the held-out
   log p(x) per row is exact (marginal Gaussian) at the theta reached every 25 iterations,
   against the wall time spent in the learning loop (compile and warm-up reported apart).
2. Digits (``examples/digits_em.py``: z in R^2, MLP decoder, minibatches of 100 images): same,
   held-out log p(x) per image by prior Monte Carlo (2-D latents: reliable, k-hat reported).
3. Backend: one EM run and one log p(x) estimate on the factor model with PyTensor's C backend
   (``mode="CVM"``, no BLAS here) and Numba (``mode="NUMBA"``), same seed.

Run: ``python benchmarks/bench_learning.py [--quick]``; writes
``benchmarks/results/learning.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import time
import warnings

from pathlib import Path

import numpy as np
import pymc as pm

from scipy import stats
from threadpoolctl import threadpool_limits

from pymc_auxform import Minibatch, estimate_log_marginal, stochastic_em
from pymc_auxform.mc_likelihood import fit_mc_likelihood

RESULTS = Path(__file__).parent / "results"
EXAMPLE = Path(__file__).parent.parent / "examples" / "digits_em.py"
W = np.array([1.0, 0.8, 1.2, 0.6, 0.9])


def factor_data(n, seed):
    rng = np.random.default_rng(seed)
    return 0.5 + rng.normal(size=(n, 1)) * W + rng.normal(size=(n, len(W)))


def factor_model(x):
    n, d = x.shape
    with pm.Model(coords={"obs": np.arange(n), "feature": np.arange(d)}) as model:
        w = pm.Data("w", np.full(d, 0.1), dims="feature")
        b = pm.Data("b", np.zeros(d), dims="feature")
        s = pm.Data("s", 2.0)
        z = pm.Normal("z", 0.0, 1.0, dims="obs")
        pm.Normal("x", z[:, None] * w + b, s, observed=x, dims=("obs", "feature"))
    return model


def exact_heldout(theta, x):
    cov = np.outer(theta["w"], theta["w"]) + theta["s"] ** 2 * np.eye(len(theta["w"]))
    return float(stats.multivariate_normal(theta["b"], cov).logpdf(x).mean())


def timed_curve(run, evaluate, every):
    """Run a learner with a callback that records (loop seconds, held-out) every ``every``."""
    curve, clock = [], {"loop": 0.0, "last": None}

    def callback(progress):
        now = time.perf_counter()
        if clock["last"] is not None:
            clock["loop"] += now - clock["last"]
        if progress.iteration % every == 0:
            curve.append((progress.iteration, clock["loop"], evaluate(progress.theta)))
        clock["last"] = time.perf_counter()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(callback)
    return res, curve


def bench_factor(n_iter, seed, mode=None):
    x, test = factor_data(300, seed), factor_data(300, seed + 1)
    out = {}
    for name, fn, kw in [
        ("MCMC-EM", stochastic_em, {}),
        ("MC likelihood (L=8)", fit_mc_likelihood, {"n_noise": 8}),
    ]:
        res, curve = timed_curve(
            lambda cb, fn=fn, kw=kw: fn(
                factor_model(x),
                ["w", "b", "s"],
                n_iter=n_iter,
                constraints={"s": "positive"},
                random_seed=seed,
                progressbar=False,
                callback=cb,
                mode=mode,
                **kw,
            ),
            lambda th: exact_heldout(th, test),
            25,
        )
        out[name] = summary(res, curve)
    lam, u = np.linalg.eigh(np.cov(x.T, bias=True))
    s2 = lam[:-1].mean()
    mle = {"w": u[:, -1] * np.sqrt(lam[-1] - s2), "b": x.mean(0), "s": np.sqrt(s2)}
    out["MLE (closed form)"] = {"heldout_final": exact_heldout(mle, test)}
    return out


def summary(res, curve):
    t = res.timings
    return {
        "iterations": res.n_iter,
        "compile_s": float(t["compile"]),
        "tune_s": float(t["tune"]),
        "iter_ms": 1e3 * float((t["e_step"] + t["m_step"]).mean()),
        "e_step_ms": 1e3 * float(t["e_step"].mean()),
        "m_step_ms": 1e3 * float(t["m_step"].mean()),
        "curve": curve,
        "heldout_final": curve[-1][2] if curve else None,
        "loop_s": curve[-1][1] if curve else None,
    }


def bench_digits(n_iter, seed):
    spec = importlib.util.spec_from_file_location("digits_em", EXAMPLE)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    train, test = ex.load_binary_digits(seed=seed)
    theta0 = ex.init_decoder(train, 32, seed)
    test_model = ex.digits_model(test, theta0)

    def evaluate(theta):
        return ex.held_out_loglik(test_model, theta, n_samples=300, seed=seed)[0]

    out = {"start": {"heldout_final": evaluate(theta0)}}
    mb = Minibatch(data={"x": train}, batch_size=100, latents=["z"])
    for name, fn, kw in [
        ("MCMC-EM", stochastic_em, {"draws_per_iter": 4, "tune": 100, "minibatch": mb}),
        ("MC likelihood (L=8)", fit_mc_likelihood, {"n_noise": 8, "minibatch": mb}),
    ]:
        res, curve = timed_curve(
            lambda cb, fn=fn, kw=kw: fn(
                ex.digits_model(train[:100], theta0),
                list(ex.PARAMS),
                n_iter=n_iter,
                random_seed=seed,
                progressbar=False,
                callback=cb,
                **kw,
            ),
            evaluate,
            max(n_iter // 4, 1),
        )
        out[name] = summary(res, curve)
    return out


def bench_backend(seed):
    x = factor_data(300, seed)
    out = {}
    for mode in ["NUMBA", "CVM"]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stochastic_em(
                factor_model(x),
                ["w", "b", "s"],
                n_iter=50,
                constraints={"s": "positive"},
                random_seed=seed,
                progressbar=False,
                mode=mode,
            )
        em_total = time.perf_counter() - t0
        t0 = time.perf_counter()
        est = estimate_log_marginal(factor_model(x), random_seed=seed, mode=mode)
        out[mode] = {
            "em_compile_s": float(res.timings["compile"]),
            "em_iter_ms": 1e3 * float((res.timings["e_step"] + res.timings["m_step"]).mean()),
            "em_e_step_ms": 1e3 * float(res.timings["e_step"].mean()),
            "em_total_s": em_total,
            "log_px_s": time.perf_counter() - t0,
            "log_px": est.estimate,
        }
    return out


def write(results, settings):
    lines = [
        "# Learning benchmark: MCMC-EM vs EM-free learning, and the compile backend",
        "",
        f"Date: {settings['date']}. Settings: {json.dumps(settings)}.",
        "Shared 2-core CPU machine (about 5 jobs at once); timings are noisy, compare within a run.",
        "Held-out log p(x) per row/image (higher is better) reached after the loop time shown",
        "(compile and warm-up excluded, reported apart).",
        "",
    ]
    for title, key in [
        ("Factor model (exact held-out)", "factor"),
        ("Digits (prior MC)", "digits"),
    ]:
        lines += [
            f"## {title}",
            "",
            "| learner | iterations | compile s | ms/iter | loop s | held-out log p(x) |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in results.get(key, {}).items():
            if "iterations" in r:
                lines.append(
                    f"| {name} | {r['iterations']} | {r['compile_s']:.1f} | {r['iter_ms']:.1f} "
                    f"| {r['loop_s']:.1f} | {r['heldout_final']:.3f} |"
                )
            else:
                lines.append(f"| {name} | - | - | - | - | {r['heldout_final']:.3f} |")
        lines += ["", "Learning curves, (iteration, loop s, held-out):", ""]
        for name, r in results.get(key, {}).items():
            if "curve" in r:
                pts = ", ".join(f"({i}, {t:.1f}, {v:.2f})" for i, t, v in r["curve"])
                extra = ""
                if name.startswith("MCMC"):
                    extra = (
                        f"; time per iteration / E-step time {r['iter_ms'] / r['e_step_ms']:.2f}"
                    )
                lines.append(f"- {name}: {pts}{extra}")
        lines.append("")
    if "backend" in results:
        lines += [
            "## Backend (factor model, 50 EM iterations; log p(x) by importance per row)",
            "",
            "| mode | EM compile s | EM ms/iter | E-step ms/iter | log p(x) s |",
            "|---|---|---|---|---|",
        ]
        for mode, r in results["backend"].items():
            lines.append(
                f"| {mode} | {r['em_compile_s']:.1f} | {r['em_iter_ms']:.1f} | "
                f"{r['em_e_step_ms']:.1f} | {r['log_px_s']:.1f} |"
            )
        lines.append("")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "learning.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "learning.json").write_text(json.dumps({"settings": settings, **results}, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["factor", "digits", "backend"], nargs="*")
    args = parser.parse_args()
    threadpool_limits(1)
    settings = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "factor_iters": 100 if args.quick else 200,
        "digits_iters": 40 if args.quick else 200,
        "seed": args.seed,
    }
    only = args.only or ["factor", "digits", "backend"]
    old = RESULTS / "learning.json"
    results = json.loads(old.read_text()) if args.only and old.exists() else {}
    settings = {**results.pop("settings", {}), **settings}
    if "factor" in only:
        results["factor"] = bench_factor(settings["factor_iters"], args.seed)
        print(
            "factor", {k: v.get("heldout_final") for k, v in results["factor"].items()}, flush=True
        )
    if "digits" in only:
        results["digits"] = bench_digits(settings["digits_iters"], args.seed)
        print(
            "digits", {k: v.get("heldout_final") for k, v in results["digits"].items()}, flush=True
        )
    if "backend" in only:
        results["backend"] = bench_backend(args.seed)
        print("backend", results["backend"], flush=True)
    write(results, settings)


if __name__ == "__main__":
    main()
