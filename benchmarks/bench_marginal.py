"""log p(x) benchmark on coupled latents: which estimator, how close to the exact value, how fast.

Cases (each run on its own, ``--case``; results merged into ``benchmarks/results/marginal.json``
and ``.md``):

* ``ss50``: linear-Gaussian state-space model, T=50, z_t in R^4 (200 coupled latents), exact log
  p(x) by a Kalman filter (``tests/test_marginal_ais.py``). ``estimate_log_marginal`` with
  ``method="smc"`` (the ``"auto"`` choice here) and ``"ais"``.
* ``pymc-smc``: the same model with ``pm.sample_smc`` (PyMC's SMC, independent Metropolis-Hastings
  kernel, 2000 particles, 4 chains), on the original and the auxified model; the estimate is the
  log of the chains' mean evidence, the se their spread.
* ``factor``: the issue's factor model (N=200, D=6, K=2: 400 latents) in one block
  (``independent_dim=False``) by SMC, and per row (the ``"auto"`` choice: importance sampling).
* ``dbn``: Kingma's (2013) DBN (``reference_models.dbn``, T=20, z in R^10, 20 binary outputs),
  no exact value: cross-checked by SMC in auxiliary form and prior Monte Carlo (which works here:
  20 binary observations barely move the posterior away from the prior).

Run: ``python benchmarks/bench_marginal.py --case ss50`` (or ``factor``, ``dbn``, ``pymc-smc``).
Wall times are on a shared 2-core machine and include compilation.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import warnings

from pathlib import Path

import numpy as np
import pymc as pm

from scipy import special

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from pymc_auxform import auxify, estimate_log_marginal  # noqa: E402
from pymc_auxform.reference_models import dbn  # noqa: E402
from tests.test_marginal_ais import state_space  # noqa: E402
from tests.test_marginal_honest import factor_model  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def row(label, res, exact=None):
    """One result row from a LogMarginal."""
    out = {
        "estimator": label,
        "estimate": res.estimate,
        "se": res.se,
        "khat": res.khat,
        "seconds": res.seconds,
        "runs": None if res.runs is None else [float(v) for v in res.runs],
    }
    if exact is not None:
        out["exact"] = float(exact)
        out["error_in_se"] = float((res.estimate - exact) / res.se) if res.se > 0 else None
    return out


def case_ss50(seed):
    model, exact = state_space(t_len=50)
    rows = []
    for ua in (False, True):
        res = estimate_log_marginal(model, method="smc", use_auxiliary=ua, random_seed=seed)
        rows.append(row(f"smc ({'auxiliary' if ua else 'original'} form)", res, exact))
    return rows


def case_pymc_smc(seed):
    model, exact = state_space(t_len=50)
    rows = []
    for name, work in [("original", model), ("auxiliary", auxify(model, centering=0.0))]:
        t0 = time.perf_counter()
        idata = pm.sample_smc(
            draws=2000, chains=4, cores=1, model=work, random_seed=seed, progressbar=False,
            compute_convergence_checks=False,
        )  # fmt: skip
        lml = np.asarray(idata.sample_stats["log_marginal_likelihood"].values)
        per = np.array([np.asarray(list(c), dtype=float)[-1] for c in lml.reshape(4, -1)])
        est = special.logsumexp(per) - np.log(4)
        z = np.exp(per - per.max())
        se = z.std(ddof=1) / 2 / z.mean()
        rows.append(
            {
                "estimator": f"pm.sample_smc ({name} form)",
                "estimate": float(est),
                "se": float(se),
                "khat": None,
                "seconds": time.perf_counter() - t0,
                "runs": [float(v) for v in per],
                "exact": float(exact),
                "error_in_se": float((est - exact) / se),
            }
        )
    return rows


def case_factor(seed):
    model, exact = factor_model()
    block = estimate_log_marginal(model, method="smc", independent_dim=False, random_seed=seed)
    auto = estimate_log_marginal(model, random_seed=seed)
    return [row("smc, one block of 400 latents", block, exact), row("auto (per row)", auto, exact)]


def case_dbn(seed):
    model = dbn(steps=20, form="loop")
    smc = estimate_log_marginal(model, method="smc", random_seed=seed)
    prior = estimate_log_marginal(model, method="prior", n_samples=40000, random_seed=seed + 1)
    label = f"smc (auxiliary form, {smc.n_samples} particles, default moves)"
    rows = [row(label, smc), row("prior Monte Carlo, 40000 draws", prior)]
    diff = smc.estimate - prior.estimate
    rows.append({"estimator": "difference", "estimate": diff, "se": np.hypot(smc.se, prior.se)})
    return rows


CASES = {"ss50": case_ss50, "pymc-smc": case_pymc_smc, "factor": case_factor, "dbn": case_dbn}


def write(results):
    lines = [
        "# log p(x) on coupled latents",
        "",
        "Written by `benchmarks/bench_marginal.py`; one section per `--case`. Shared 2-core "
        "machine, wall times include compilation. `error_in_se` = (estimate - exact) / se.",
    ]
    for case, entry in results.items():
        lines += ["", f"## {case} ({entry['date']}, seed {entry['seed']})", ""]
        lines += ["| estimator | log p(x) | se | k-hat | exact | error / se | runs | s |"]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for r in entry["rows"]:
            fmt = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"  # noqa: E731
            runs = "-" if not r.get("runs") else ", ".join(f"{v:.2f}" for v in r["runs"])
            lines.append(
                f"| {r['estimator']} | {fmt(r['estimate'])} | {fmt(r['se'])} | "
                f"{fmt(r.get('khat'))} | {fmt(r.get('exact'))} | {fmt(r.get('error_in_se'), 1)} "
                f"| {runs} | {fmt(r.get('seconds'), 0)} |"
            )
        notes = [f"- {r['estimator']}: {r['note']}" for r in entry["rows"] if r.get("note")]
        lines += ["", *notes] if notes else []
    (RESULTS / "marginal.md").write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = RESULTS / "marginal.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        rows = CASES[args.case](args.seed)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results[args.case] = {"date": date, "seed": args.seed, "rows": rows}
    path.write_text(json.dumps(results, indent=2, default=float))
    write(results)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
