"""EM benchmark: time per stochastic-EM iteration (and its split) on the digits model, and EM in
auxiliary vs original form on Kingma's (2013) DBN with unknown transition weights at equal wall time.

1. Digits (``examples/digits_em.py``: z in R^2, 2-layer MLP decoder, Bernoulli pixels, minibatches
   of 100 images): compile, warm-up, E-step and M-step seconds per iteration; held-out log p(x)
   per image (prior Monte Carlo, 300 test images) before and after.
2. DBN (T=20, z in R^10, one binary output per step, data simulated from fixed weights): learn
   ``W_z`` and ``b_z`` (started at zero) by ``stochastic_em`` with ``use_auxiliary=True`` and
   ``False``, same settings and seed, each for the same wall-time budget of EM iterations
   (compile and warm-up excluded, reported apart). The EM objectives of the two forms are
   densities in different spaces and cannot be compared directly, so both learned thetas are
   scored with the same yardstick: log p_theta(x) by prior Monte Carlo in auxiliary form
   (``estimate_log_marginal(method="prior")``, same seed and draws), with its standard error.
   (Only 20 binary observations: prior draws cover the posterior well; the importance estimator's
   Student-t proposal in 200 dimensions had an ESS of 1-4 here and read far too low.)

Run by hand: ``.venv/bin/python benchmarks/bench_em.py [--quick]``; writes
``benchmarks/results/em.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import time

from pathlib import Path

import numpy as np

from threadpoolctl import threadpool_limits

from pymc_auxform import Minibatch, estimate_log_marginal, stochastic_em
from pymc_auxform.reference_models import dbn, dbn_params

RESULTS = Path(__file__).parent / "results"
EXAMPLE = Path(__file__).parent.parent / "examples" / "digits_em.py"


def load_example():
    spec = importlib.util.spec_from_file_location("digits_em", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_digits(n_iter: int, seed: int) -> dict:
    ex = load_example()
    train, test = ex.load_binary_digits(seed=seed)
    theta0 = ex.init_decoder(train, 32, seed)
    model = ex.digits_model(train[:100], theta0)
    test_model = ex.digits_model(test, theta0)
    before = ex.held_out_loglik(test_model, theta0, seed=seed)
    start = time.perf_counter()
    res = stochastic_em(
        model,
        list(ex.PARAMS),
        n_iter=n_iter,
        draws_per_iter=4,
        tune=100,
        learning_rate=0.1,
        minibatch=Minibatch(data={"x": train}, batch_size=100, latents=["z"]),
        random_seed=seed,
        progressbar=False,
    )
    wall = time.perf_counter() - start
    after = ex.held_out_loglik(test_model, res.final, seed=seed)
    t = res.timings
    return {
        "n_iter": n_iter,
        "wall_s": wall,
        "compile_s": t["compile"],
        "tune_s": t["tune"],
        "e_step_ms": 1e3 * float(t["e_step"].mean()),
        "m_step_ms": 1e3 * float(t["m_step"].mean()),
        "iter_ms": 1e3 * float((t["e_step"] + t["m_step"]).mean()),
        "grad_evals_per_iter": float(res.e_step_stats["n_grad"].mean()),
        "heldout_before": before,
        "heldout_after": after,
    }


def bench_dbn(budget: float, seed: int, is_samples: int) -> dict:
    true = dbn_params(10, 1, 0)
    rows = {}
    thetas = {}
    for form, aux in [("auxiliary", True), ("original", False)]:
        model = dbn(steps=20, form="loop")
        model["W_z"].set_value(np.zeros((10, 10)))
        model["b_z"].set_value(np.zeros(10))
        clock = {}

        def stop(progress, clock=clock):
            clock.setdefault("start", time.perf_counter())
            return time.perf_counter() - clock["start"] > budget

        res = stochastic_em(
            model,
            ["W_z", "b_z"],
            n_iter=100_000,
            draws_per_iter=5,
            tune=200,
            learning_rate=0.05,
            use_auxiliary=aux,
            callback=stop,
            random_seed=seed,
            progressbar=False,
        )
        thetas[form] = res.final
        t = res.timings
        rows[form] = {
            "iterations": res.n_iter,
            "em_s": float((t["e_step"] + t["m_step"]).sum()),
            "compile_s": t["compile"],
            "tune_s": t["tune"],
            "iter_ms": 1e3 * float((t["e_step"] + t["m_step"]).mean()),
            "accept": float(res.e_step_stats["accept"].mean()),
            "grad_evals_per_iter": float(res.e_step_stats["n_grad"].mean()),
            "W_z_rmse_to_true": float(np.sqrt(np.mean((res.final["W_z"] - true["W_z"]) ** 2))),
        }
    thetas["start (zeros)"] = {"W_z": np.zeros((10, 10)), "b_z": np.zeros(10)}
    thetas["true weights"] = {"W_z": true["W_z"], "b_z": true["b_z"]}
    for name, theta in thetas.items():
        model = dbn(steps=20, form="loop")
        for k, v in theta.items():
            model[k].set_value(v)
        est = estimate_log_marginal(
            model, method="prior", n_samples=is_samples, random_seed=seed + 1
        )
        rows.setdefault(name, {}).update(
            {"log_px": est.estimate, "log_px_se": est.se, "is_ess": est.ess}
        )
    return rows


def write(results: dict, settings: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    d = results["digits"]
    lines = [
        "# Stochastic EM benchmark",
        "",
        f"Date: {settings['date']}. Settings: {json.dumps(settings)}.",
        "Shared 2-core CPU machine, one BLAS thread; timings are noisy, compare within a run.",
        "",
        "## Digits model (z in R^2, MLP decoder, minibatches of 100 images), auxiliary form",
        "",
        "| iterations | compile s | warm-up s | E-step ms/iter | M-step ms/iter | total ms/iter "
        "| NUTS grads/iter | held-out log p(x)/image before | after |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {d['n_iter']} | {d['compile_s']:.1f} | {d['tune_s']:.1f} | {d['e_step_ms']:.1f} "
        f"| {d['m_step_ms']:.1f} | {d['iter_ms']:.1f} | {d['grad_evals_per_iter']:.0f} "
        f"| {d['heldout_before'][0]:.2f} ± {d['heldout_before'][1]:.2f} "
        f"| {d['heldout_after'][0]:.2f} ± {d['heldout_after'][1]:.2f} |",
        "",
        f"## DBN (T=20, z in R^10), learning W_z, b_z from zeros, {settings['dbn_budget_s']} s "
        "of EM per form",
        "",
        "log p(x) is estimated by prior Monte Carlo in auxiliary form (Kingma's (2013) MC likelihood) "
        "at each learned theta, with its standard error and the ESS of the weights.",
        "",
        "| theta | EM iterations | ms/iter | compile s | warm-up s | accept | grads/iter "
        "| RMSE(W_z, true) | log p(x) | se | ESS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["dbn"].items():
        if "iterations" in r:
            run = (
                f"{r['iterations']} | {r['iter_ms']:.1f} | {r['compile_s']:.1f} | "
                f"{r['tune_s']:.1f} | {r['accept']:.2f} | {r['grad_evals_per_iter']:.0f} | "
                f"{r['W_z_rmse_to_true']:.3f}"
            )
        else:
            run = " | ".join(["-"] * 7)
        lines.append(
            f"| {name} | {run} | {r['log_px']:.2f} | {r['log_px_se']:.2f} | {r['is_ess']:.0f} |"
        )
    (RESULTS / "em.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "em.json").write_text(json.dumps({"settings": settings, **results}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-digits", action="store_true", help="reuse the digits results of em.json"
    )
    args = parser.parse_args()
    threadpool_limits(1)
    settings = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "digits_iters": 30 if args.quick else 150,
        "dbn_budget_s": 15 if args.quick else 60,
        "is_samples": 5000 if args.quick else 40000,
        "seed": args.seed,
    }
    if args.skip_digits:
        old = json.loads((RESULTS / "em.json").read_text())
        settings["digits_iters"] = old["settings"]["digits_iters"]
        settings["digits_date"] = old["settings"]["date"]
        results = {"digits": old["digits"]}
    else:
        results = {"digits": bench_digits(settings["digits_iters"], args.seed)}
    print("digits:", results["digits"], flush=True)
    results["dbn"] = bench_dbn(settings["dbn_budget_s"], args.seed, settings["is_samples"])
    print("dbn:", results["dbn"], flush=True)
    write(results, settings)
    print(f"wrote {RESULTS / 'em.md'}")


if __name__ == "__main__":
    main()
