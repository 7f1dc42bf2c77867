"""Centering benchmark: ``centering="auto"`` against always-centered, always-auxiliary and the best
hand-chosen form.

Models (all seeded): eight schools, Neal's funnel, the seed's DBN (loop form, ``--steps`` steps),
an informative radon-style model (20 groups x 50 observations) and a mixed one (5 data-rich
groups x 200 observations, 45 data-poor groups x 1 observation). The hand-chosen form of the mixed
model keeps the data-rich groups centered and auxifies the others (per-element 0/1); on the other
models it is the better of the two fixed forms (no extra run).

For each run: min bulk ESS over the original free variables, ESS/s (sampling time, tuning and
draws, no compile), ESS per 1000 gradient evaluations, divergences; for "auto", the time spent
choosing and its ratio to the sampling time and to the whole ``pm.sample`` call.

Run by hand: ``.venv/bin/python benchmarks/bench_centering.py [--quick]``; writes
``benchmarks/results/centering.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
import warnings

from pathlib import Path

import numpy as np
import pymc as pm

from pymc_auxform import auxify, report, sampling_metrics
from pymc_auxform.reference_models import (
    dbn,
    eight_schools,
    funnel,
    simulate_hierarchical,
    varying_intercepts,
)

RESULTS = Path(__file__).parent / "results"
RICH, POOR = 5, 45


def models(steps: int) -> dict:
    """name -> (builder, hand-chosen centering or a fixed form's name)."""
    group, y = simulate_hierarchical(20, 50, seed=1)
    counts = np.r_[np.full(RICH, 200), np.full(POOR, 1)]
    mgroup, my = simulate_hierarchical(RICH + POOR, counts, seed=2)
    hand_mixed = {"alpha": (counts >= 10).astype(float)}
    return {
        "eight_schools": (eight_schools, "auxiliary"),
        "funnel": (funnel, "auxiliary"),
        f"dbn_{steps}": (lambda: dbn(steps=steps), "auxiliary"),
        "informative": (lambda: varying_intercepts(group, y), "centered"),
        "mixed": (lambda: varying_intercepts(mgroup, my), hand_mixed),
    }


def run(model: pm.Model, names: list[str], settings: dict) -> dict:
    start = time.perf_counter()
    with model:
        idata = pm.sample(**settings)
    wall = time.perf_counter() - start
    m = sampling_metrics(idata, var_names=names).as_dict()
    m["wall"] = wall
    return m


def main(quick: bool, steps: int) -> None:
    settings = dict(
        draws=300 if quick else 1000,
        tune=300 if quick else 1000,
        chains=2,
        cores=1,
        random_seed=20131306,
        progressbar=False,
        compute_convergence_checks=False,
    )
    rows = []
    for name, (build, hand) in models(steps).items():
        original = build()
        names = [rv.name for rv in original.free_RVs]
        res = {"centered": run(original, names, settings)}
        res["auxiliary"] = run(auxify(build()), names, settings)
        start = time.perf_counter()
        auto = auxify(build(), centering="auto")
        choose = time.perf_counter() - start
        res["auto"] = run(auto, names, settings)
        if isinstance(hand, dict):
            res["hand"] = run(auxify(build(), centering=hand), names, settings)
        else:
            res["hand"] = dict(res[hand], note=f"= {hand}")
        choice = report(auto).centering
        print(name, report(auto), sep="\n", flush=True)
        rows.append(
            {
                "model": name,
                **{k: v for k, v in res.items()},
                "choose_seconds": choose,
                "choose_iterations": choice.iterations,
                "choose_converged": choice.converged,
                "why": {n: d.why() for n, d in choice.decisions.items()},
            }
        )
        print({k: round(v["ess_per_second"], 1) for k, v in res.items()}, flush=True)
    write(rows, settings, steps)


def write(rows: list[dict], settings: dict, steps: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    forms = ("centered", "auxiliary", "auto", "hand")
    head = (
        "| model | "
        + " | ".join(f"{f} ESS/s" for f in forms)
        + " | auto / best fixed | auto / hand | ESS per 1k grads (c / a / auto / hand)"
        + " | divergences (c / a / auto / hand) | choose s | choose / sampling"
        + " | choose / pm.sample |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        eps = [r[f]["ess_per_second"] for f in forms]
        best_fixed = max(eps[0], eps[1])
        per_grad = " / ".join(f"{1000 * r[f]['ess_per_grad']:.2f}" for f in forms)
        div = " / ".join(str(r[f]["divergences"]) for f in forms)
        lines.append(
            f"| {r['model']} | "
            + " | ".join(f"{e:.1f}" for e in eps)
            + f" | {eps[2] / best_fixed:.2f}x | {eps[2] / eps[3]:.2f}x | {per_grad} | {div}"
            + f" | {r['choose_seconds']:.1f} | {r['choose_seconds'] / r['auto']['seconds']:.2f}"
            + f" | {r['choose_seconds'] / r['auto']['wall']:.2f} |"
        )
    same = [
        f"- **{r['model']}**: auto chose the same model as '{f}' (identical draws; the ESS/s "
        "ratio shows only the timing noise)."
        for r in rows
        for f in ("auxiliary", "centered")
        if r["auto"]["min_ess_bulk"] == r[f]["min_ess_bulk"]
        and r["auto"]["grad_evals"] == r[f]["grad_evals"]
    ]
    why = [
        f"- **{r['model']}**: " + "; ".join(f"`{n}`: {w}" for n, w in r["why"].items())
        for r in rows
    ]
    text = "\n".join(
        [
            "# centering='auto' vs fixed forms",
            "",
            f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC. Settings: "
            f"`pm.sample` (nutpie) {settings}; DBN loop form with {steps} steps. "
            "ESS = min bulk ESS over the original free variables; ESS/s uses the sampling time "
            "(tuning + draws, no compile). 'hand' = per-group 0/1 on the mixed model "
            "(rich groups centered), else the better fixed form (same run). The machine's 2 cores "
            "were shared with other jobs: seconds are noisy, compare within a row; ESS per "
            "gradient is not affected.",
            "",
            *lines,
            "",
            *same,
            "",
            "What auto chose, and why:",
            "",
            *why,
            "",
        ]
    )
    (RESULTS / "centering.md").write_text(text)
    (RESULTS / "centering.json").write_text(
        json.dumps(
            {"date": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}", "settings": settings}
            | {"steps": steps, "rows": rows},
            indent=1,
            default=str,
        )
    )
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    main(args.quick, args.steps)
