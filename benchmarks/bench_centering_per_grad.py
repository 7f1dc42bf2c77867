"""ESS per gradient of each form, averaged over seeds: the quality of the automatic choice,
separate from its cost (``bench_centering.py`` has ESS/s with the cost).

Per model of the centering suite: the model as written, ``centering=0.0`` and
``centering="auto"``, each compiled once by nutpie and sampled with 6 seeds (2 chains x 500
draws after 500 tuning steps). ESS = min bulk ESS over the original free variables; ESS per 1000
gradients (leapfrog steps, tuning included), mean and standard error over the seeds.

Run by hand: ``PYTHONPATH=. python benchmarks/bench_centering_per_grad.py``; writes
``benchmarks/results/centering_per_grad.{md,json}``.
"""

from __future__ import annotations

import datetime
import json
import warnings

import arviz as az
import numpy as np
import nutpie

from bench_centering import RESULTS, models

from pymc_auxform import auxify, choose_centering

SEEDS = range(6)


def per_grad(model, names: list[str]) -> list[float]:
    compiled = nutpie.compile_pymc_model(model)
    values = []
    for seed in SEEDS:
        trace = nutpie.sample(
            compiled, draws=500, tune=500, chains=2, cores=1, progress_bar=False, seed=seed
        )
        ess = min(float(az.ess(trace.posterior[n]).min()) for n in names)
        values.append(1000 * ess / int(trace.sample_stats["n_steps"].sum()))
    return values


def main() -> None:
    rows = []
    for name, (build, held_out) in models().items():
        names = [rv.name for rv in build().free_RVs]
        choice = choose_centering(build())
        forms = {
            "written": build(),
            "auxiliary": auxify(build(), centering=0.0),
            "auto": auxify(build(), centering=choice.lam),
        }
        row = {"model": name, "held_out": held_out}
        row.update({k: per_grad(m, names) for k, m in forms.items()})
        rows.append(row)
        print(name, {k: round(float(np.mean(row[k])), 1) for k in forms}, flush=True)
        write(rows)


def write(rows: list[dict]) -> None:
    def cell(v):
        return f"{np.mean(v):.1f} ± {np.std(v, ddof=1) / np.sqrt(len(v)):.1f}"

    lines = [
        "| model | written | auxiliary | auto | auto / best fixed |",
        "|---|---|---|---|---|",
    ]
    ratios = []
    for r in rows:
        best = max(np.mean(r["written"]), np.mean(r["auxiliary"]))
        ratio = np.mean(r["auto"]) / best
        ratios.append(ratio)
        star = " (held out)" if r["held_out"] else ""
        lines.append(
            f"| {r['model']}{star} | {cell(r['written'])} | {cell(r['auxiliary'])} "
            f"| {cell(r['auto'])} | {ratio:.2f}x |"
        )
    gmean = float(np.exp(np.mean(np.log(ratios))))
    lines.append(f"| **geometric mean** | | | | {gmean:.2f}x (worst {min(ratios):.2f}x) |")
    now = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
    text = "\n".join(
        [
            "# Quality of the automatic choice: ESS per 1000 gradients",
            "",
            f"Date: {now} UTC. nutpie, 2 chains x 500 draws after 500 tuning steps, seeds "
            f"{list(SEEDS)}; mean ± standard error over the seeds. ESS = min bulk ESS over the "
            "original free variables; gradients = leapfrog steps, tuning included.",
            "",
            *lines,
            "",
        ]
    )
    (RESULTS / "centering_per_grad.md").write_text(text)
    (RESULTS / "centering_per_grad.json").write_text(
        json.dumps({"date": now, "rows": rows}, indent=1)
    )


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    main()
