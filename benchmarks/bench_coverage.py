"""Coverage benchmark: recurrent, scan and multivariate models, original vs auxified.

Models (all seeded, simulated data):

- ``dbn``: Kingma's (2013) DBN (T=20, z in R^10, one binary output per step), original loop form vs
  ``auxify`` of the loop form vs ``auxify`` of the scan form (``pm.CustomDist`` + ``pytensor.scan``)
  vs the hand-written non-centered loop form;
- ``grw``: a GaussianRandomWalk (T=100) with a latent innovation scale, observed with noise;
- ``mvnormal``: a hierarchical MvNormal (8 groups in R^3, latent mean and scales, ``chol=``).

For each: nutpie sampling time (compile excluded), min bulk ESS over the original variables,
ESS/s, ESS per 1000 gradient evaluations, divergences, and the cost of one compiled
logp+gradient call relative to the hand-written non-centered model.

Run by hand: ``.venv/bin/python benchmarks/bench_coverage.py [--quick]``; writes
``benchmarks/results/coverage.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import warnings

from pathlib import Path

import numpy as np
import nutpie
import pymc as pm
import pytensor.tensor as pt

from pymc_auxform import auxify, logp_grad_seconds, sampling_metrics, timed_sample
from pymc_auxform.reference_models import dbn

RESULTS = Path(__file__).parent / "results"


def grw_model(*, noncentered: bool = False, steps: int = 100, seed: int = 0) -> pm.Model:
    """``s ~ HalfNormal(0.5)``, ``z ~ GRW(sigma=s, init N(0, 1))``, ``y ~ N(z, 1)``."""
    rng = np.random.default_rng(seed)
    z_true = np.cumsum(np.r_[rng.normal(), 0.1 * rng.normal(size=steps)])
    y = z_true + rng.normal(size=steps + 1)
    with pm.Model(coords={"t": np.arange(steps + 1)}) as model:
        if noncentered:
            s = pm.Deterministic("s", 0.5 * pm.HalfNormal("s_eps", 1.0))
        else:
            s = pm.HalfNormal("s", 0.5)
        if noncentered:
            z_eps = pm.Normal("z_eps", dims="t")
            z = pm.Deterministic(
                "z", pt.cumsum(pt.concatenate([z_eps[:1], s * z_eps[1:]])), dims="t"
            )
        else:
            z = pm.GaussianRandomWalk(
                "z", sigma=s, init_dist=pm.Normal.dist(0, 1), steps=steps, dims="t"
            )
        pm.Normal("y", z, 1.0, observed=y, dims="t")
    return model


CORR_CHOL = np.linalg.cholesky(np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]))


def mvnormal_model(*, noncentered: bool = False, groups: int = 8, seed: int = 0) -> pm.Model:
    """``theta_j ~ MvNormal(mu, chol=diag(sd) @ C)``, two noisy observations per group."""
    rng = np.random.default_rng(seed)
    theta_true = rng.normal(size=(groups, 3)) @ (np.diag([0.3, 0.5, 0.2]) @ CORR_CHOL).T
    y = theta_true[:, None, :] + 2.0 * rng.normal(size=(groups, 2, 3))
    coords = {"group": np.arange(groups), "rep": np.arange(2), "dim": np.arange(3)}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", 0.0, 1.0, dims="dim")
        sd = pm.HalfNormal("sd", 1.0, dims="dim")
        chol = pt.diag(sd) @ CORR_CHOL
        if noncentered:
            theta_eps = pm.Normal("theta_eps", dims=("group", "dim"))
            theta = pm.Deterministic("theta", mu + theta_eps @ chol.T, dims=("group", "dim"))
        else:
            theta = pm.MvNormal("theta", mu=mu, chol=chol, dims=("group", "dim"))
        pm.Normal("y", theta[:, None, :], 2.0, observed=y, dims=("group", "rep", "dim"))
    return model


def original_names(model) -> list[str]:
    return [v.name for v in model.free_RVs]


def run_case(case, variants, *, draws, tune, chains, seed):
    """Sample every ``label: (model, names of its original free variables)`` of one case."""
    rows = []
    for label, (model, names) in variants.items():
        run = timed_sample(
            model,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=1,
            random_seed=seed,
            nuts_sampler="nutpie",
            progressbar=False,
            compute_convergence_checks=False,
        )
        secs = run.seconds  # nutpie's sampling time, compilation excluded
        m = sampling_metrics(run.idata, var_names=names, seconds=secs)
        rows.append(
            {
                "model": case,
                "variant": label,
                "seconds": secs,
                "min_bulk_ess": m.min_ess_bulk,
                "ess_per_s": m.ess_per_second,
                "ess_per_1k_grad": 1000 * m.ess_per_grad,
                "divergences": m.divergences,
            }
        )
        print(rows[-1], flush=True)
    costs = logp_grad_seconds({label: model for label, (model, _) in variants.items()})
    for r in rows:
        r["grad_us"] = 1e6 * costs[r["variant"]]
        r["grad_cost_vs_hand"] = costs[r["variant"]] / costs["hand-written"]
    base = next(r for r in rows if r["variant"] == "original")
    for r in rows:
        r["ess_per_s_vs_original"] = r["ess_per_s"] / base["ess_per_s"]
    return rows


def cases(quick: bool):
    steps = 8 if quick else 20
    loop = dbn(steps=steps, form="loop")
    scan = dbn(steps=steps, form="scan")
    loop_names, scan_names = original_names(loop), original_names(scan)
    yield (
        "dbn",
        {
            "original": (loop, loop_names),
            "auxify(loop)": (auxify(loop, centering=0.0), loop_names),
            "auxify(scan)": (auxify(scan, centering=0.0), scan_names),
            "hand-written": (dbn(steps=steps, form="loop", noncentered=True), loop_names),
        },
    )
    for case, build in (("grw", grw_model), ("mvnormal", mvnormal_model)):
        names = original_names(build())
        yield (
            case,
            {
                "original": (build(), names),
                "auxify": (auxify(build(), centering=0.0), names),
                "hand-written": (build(noncentered=True), names),
            },
        )


def to_markdown(rows, settings) -> str:
    cols = [
        ("model", "{}"),
        ("variant", "{}"),
        ("seconds", "{:.2f}"),
        ("min_bulk_ess", "{:.0f}"),
        ("ess_per_s", "{:.1f}"),
        ("ess_per_s_vs_original", "{:.1f}x"),
        ("ess_per_1k_grad", "{:.1f}"),
        ("divergences", "{}"),
        ("grad_us", "{:.0f}"),
        ("grad_cost_vs_hand", "{:.2f}"),
    ]
    lines = [
        "# Coverage benchmark: recurrent, scan and multivariate models",
        "",
        f"Settings: {json.dumps(settings)}",
        "",
        "Sampler: nutpie (compile time excluded); ESS = min bulk ESS over the original free "
        "variables; grad_us = one compiled logp+gradient call (PyMC default mode, best of 9 "
        "interleaved repeats of 300 calls), grad cost = that / the hand-written model's.",
        "",
        "| " + " | ".join(c for c, _ in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    lines += ["| " + " | ".join(f.format(r[c]) for c, f in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small DBN and short runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=None, help="default 1000 (quick: 200)")
    parser.add_argument("--only", nargs="*", default=None, help="cases to run (dbn grw mvnormal)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    draws = args.draws or (200 if args.quick else 1000)
    tune = draws
    settings = {
        "draws": draws,
        "tune": tune,
        "chains": 2,
        "seed": args.seed,
        "quick": args.quick,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": sys.version.split()[0],
        "pymc": pm.__version__,
        "nutpie": nutpie.__version__,
    }
    rows = []
    for case, variants in cases(args.quick):
        if args.only and case not in args.only:
            continue
        rows += run_case(case, variants, draws=draws, tune=tune, chains=2, seed=args.seed)
    RESULTS.mkdir(exist_ok=True)
    name = "coverage_quick" if args.quick else "coverage"
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"settings": settings, "rows": rows}, indent=1)
    )
    (RESULTS / f"{name}.md").write_text(to_markdown(rows, settings))
    print(to_markdown(rows, settings))


if __name__ == "__main__":
    main()
