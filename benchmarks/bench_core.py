"""Core benchmark (issue 2): original vs ``auxify(centering=0.0)`` vs hand-written non-centered.

1. Sampling, same sampler, settings and seed for the three versions of eight schools, Neal's
   funnel and Kingma's (2013) DBN (loop form): divergences, min bulk ESS over the original variables,
   ESS per second (sampling only, compilation excluded) and per 1000 gradient evaluations, all
   from :func:`pymc_auxform.timed_sample` and :func:`pymc_auxform.sampling_metrics`.
2. Cost of one compiled logp+gradient call (:func:`pymc_auxform.logp_grad_seconds`: best of
   interleaved repeats), relative to the hand-written non-centered model (ideal: 1.0).
3. Time of ``auxify(centering=0.0)`` on a chain ``z_i ~ N(0.9 z_{i-1}, 1)`` of 100, 1,000 and
   5,000 scalar free variables, next to PyMC's own ``fgraph_from_model`` + ``model_from_fgraph``
   round trip that ``auxify`` is built on.

Run by hand: ``.venv/bin/python benchmarks/bench_core.py [--quick]``; writes
``benchmarks/results/core.md`` and ``core.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import platform
import time
import warnings

from pathlib import Path

import pymc as pm

from pymc.model.fgraph import fgraph_from_model, model_from_fgraph

from pymc_auxform import auxify, logp_grad_seconds, sampling_metrics, timed_sample
from pymc_auxform.reference_models import dbn, eight_schools, funnel

RESULTS = Path(__file__).parent / "results"
MODELS = {
    "eight schools": eight_schools,
    "funnel (n=9)": funnel,
    "DBN loop (T=20, 10 latents)": lambda noncentered=False: dbn(
        form="loop", noncentered=noncentered
    ),
}


def variants(builder) -> dict[str, pm.Model]:
    """The three versions of one model: as written, auxified, hand-written non-centered."""
    original = builder()
    return {
        "original": original,
        "auxify": auxify(original, centering=0.0),
        "hand-written": builder(noncentered=True),
    }


def bench_sampling(*, draws, tune, chains, seed, nuts_sampler, target_accept) -> list[dict]:
    rows = []
    for name, builder in MODELS.items():
        models = variants(builder)
        names = [rv.name for rv in models["original"].free_RVs]
        for version, model in models.items():
            print(f"  sampling {name} / {version}", flush=True)
            run = timed_sample(
                model,
                draws=draws,
                tune=tune,
                chains=chains,
                cores=1,
                random_seed=seed,
                nuts_sampler=nuts_sampler,
                target_accept=target_accept,
                progressbar=False,
                compute_convergence_checks=False,
            )
            m = sampling_metrics(run.idata, var_names=names, seconds=run.seconds)
            rows.append({"model": name, "version": version, **m.as_dict(), "wall": run.wall})
    return rows


def bench_grad_cost() -> list[dict]:
    rows = []
    for name, builder in MODELS.items():
        secs = logp_grad_seconds(variants(builder))  # interleaved repeats, best of each
        rows.append(
            {
                "model": name,
                **{f"us_{k}": 1e6 * v for k, v in secs.items()},
                "auxify / hand-written": secs["auxify"] / secs["hand-written"],
                "original / hand-written": secs["original"] / secs["hand-written"],
            }
        )
    return rows


def chain_model(n: int) -> pm.Model:
    """``z_0 ~ N(0, 1)``, ``z_i ~ N(0.9 z_{i-1}, 1)``: ``n`` scalar free variables."""
    with pm.Model() as model:
        z = pm.Normal("z_0", 0.0, 1.0)
        for i in range(1, n):
            z = pm.Normal(f"z_{i}", 0.9 * z, 1.0)
    return model


def bench_auxify_time(sizes) -> list[dict]:
    rows = []
    for n in sizes:
        model = chain_model(n)
        start = time.perf_counter()
        model_from_fgraph(fgraph_from_model(model)[0], mutate_fgraph=True)
        roundtrip = time.perf_counter() - start
        start = time.perf_counter()
        aux = auxify(model, centering=0.0)
        seconds = time.perf_counter() - start
        assert len(aux.free_RVs) == n
        rows.append(
            {
                "free variables": n,
                "auxify s": seconds,
                "auxify ms per variable": 1e3 * seconds / n,
                "PyMC fgraph round trip s": roundtrip,
            }
        )
        print(f"  auxify({n} variables): {seconds:.2f} s", flush=True)
    return rows


def table(rows: list[dict], fmt: dict[str, str]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [format(r[c], fmt.get(c, "")) if not isinstance(r[c], str) else r[c] for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SAMPLING_COLS = {
    "divergences": "d",
    "min_ess_bulk": ".0f",
    "ess_per_second": ".1f",
    "ess_per_1000_grads": ".2f",
    "grad_evals": ".0f",
    "seconds": ".2f",
    "max_r_hat": ".3f",
}


def to_markdown(results: dict) -> str:
    s = results["settings"]
    sampling = [
        {
            "model": r["model"],
            "version": r["version"],
            "divergences": r["divergences"],
            "min_ess_bulk": r["min_ess_bulk"],
            "ess_per_second": r["ess_per_second"],
            "ess_per_1000_grads": 1000 * r["ess_per_grad"],
            "grad_evals": r["grad_evals"],
            "seconds": r["seconds"],
            "max_r_hat": r["max_r_hat"],
            "worst": r["worst"],
        }
        for r in results["sampling"]
    ]
    return "\n\n".join(
        [
            "# Core benchmark: original vs auxify vs hand-written non-centered",
            f"Date: {s['date']}. Machine: {s['machine']}. Settings: {json.dumps(s)}.",
            "## Sampling (min over the original variables; time = sampling without compilation)",
            table(sampling, SAMPLING_COLS),
            "## One logp+gradient evaluation (microseconds; ideal auxify / hand-written = 1.0)",
            table(results["grad_cost"], {k: ".2f" for k in results["grad_cost"][0]}),
            "## auxify() time on a chain of scalar free variables",
            table(
                results["auxify_time"],
                {
                    "auxify s": ".3f",
                    "auxify ms per variable": ".2f",
                    "PyMC fgraph round trip s": ".3f",
                },
            ),
            "Timings were taken on a shared 2-core machine; compare ratios within one run.",
        ]
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run to check the script")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--sampler", default="nutpie", choices=["pymc", "nutpie"])
    parser.add_argument("--target-accept", type=float, default=0.8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    args = parser.parse_args(argv)
    if args.quick:
        args.draws, args.tune, args.sizes = 200, 200, [100, 300]
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    settings = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "random_seed": args.seed,
        "nuts_sampler": args.sampler,
        "target_accept": args.target_accept,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {platform.python_version()}, pymc {pm.__version__}",
    }
    print("sampling ...", flush=True)
    sampling = bench_sampling(
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        nuts_sampler=args.sampler,
        target_accept=args.target_accept,
    )
    print("logp+gradient cost ...", flush=True)
    grad_cost = bench_grad_cost()
    print("auxify time ...", flush=True)
    auxify_time = bench_auxify_time(args.sizes)
    results = {
        "settings": settings,
        "sampling": sampling,
        "grad_cost": grad_cost,
        "auxify_time": auxify_time,
    }
    RESULTS.mkdir(exist_ok=True)
    name = "core_quick" if args.quick else "core"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1, default=float))
    (RESULTS / f"{name}.md").write_text(to_markdown(results) + "\n")
    print(to_markdown(results))
    return results


if __name__ == "__main__":
    main()
