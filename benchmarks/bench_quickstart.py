"""What a user sees with the README quick start: eight schools, divergences, original vs auxified.

The quick start's model, auxified as there (``auxify(centered)``: auxify's default,
``centering="auto"``, which here rewrites ``theta`` and keeps ``mu`` and ``tau`` as written: the
hand-written non-centered model), and ``pm.sample``'s defaults (1000 draws; 4 chains, as on a machine
with 4 or more cores; PyMC's default sampler, nutpie when it is installed, which then tunes for
nutpie's default of 400 steps, PyMC's NUTS for 1000), over 8 seeds; then the same with PyMC's own
NUTS, and both with ``target_accept=0.9``. Counts the divergences of each run and its min bulk
ESS over the original variables.

Run by hand: ``.venv/bin/python benchmarks/bench_quickstart.py [--quick]``; writes
``benchmarks/results/quickstart.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import warnings

from pathlib import Path

import pandas as pd
import pymc as pm

from pymc_auxform import auxify, sampling_metrics, timed_sample
from pymc_auxform.reference_models import EIGHT_SCHOOLS_SIGMA as sigma
from pymc_auxform.reference_models import EIGHT_SCHOOLS_Y as y

RESULTS = Path(__file__).parent / "results"
VARIANTS = {
    "default sampler": {},
    "default sampler, target_accept=0.9": {"target_accept": 0.9},
    "PyMC NUTS": {"nuts_sampler": "pymc"},
    "PyMC NUTS, target_accept=0.9": {"nuts_sampler": "pymc", "target_accept": 0.9},
}


def quick_start_model() -> pm.Model:
    """The README's quick-start model, as written there."""
    with pm.Model(coords={"school": range(8)}) as centered:
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfCauchy("tau", 5)
        theta = pm.Normal("theta", mu, tau, dims="school")
        pm.Normal("obs", theta, sigma, observed=y, dims="school")
    return centered


def run(seeds, chains: int, draws: int | None) -> list[dict]:
    """Sample every variant, seed and form; ``draws=None`` keeps pm.sample's draws and tune."""
    length = {} if draws is None else {"draws": draws, "tune": draws}
    centered = quick_start_model()
    models = {"original": centered, "auxified": auxify(centered)}
    rows = []
    for variant, kwargs in VARIANTS.items():
        for seed in seeds:
            for form, model in models.items():
                r = timed_sample(
                    model,
                    **length,
                    chains=chains,
                    cores=1,
                    random_seed=seed,
                    progressbar=False,
                    compute_convergence_checks=False,
                    **kwargs,
                )
                m = sampling_metrics(r.idata, var_names=["mu", "tau", "theta"])
                rows.append(
                    {
                        "variant": variant,
                        "sampler": m.sampler,
                        "seed": seed,
                        "form": form,
                        "divergences": m.divergences,
                        "min_ess_bulk": m.min_ess_bulk,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def summarize(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    g = df.groupby(["variant", "form"], sort=False)
    return pd.DataFrame(
        {
            "sampler": g["sampler"].first(),
            "runs": g.size(),
            "runs with divergences": g["divergences"].apply(lambda d: int((d > 0).sum())),
            "divergences min": g["divergences"].min(),
            "divergences median": g["divergences"].median(),
            "divergences max": g["divergences"].max(),
            "min bulk ESS median": g["min_ess_bulk"].median().round(0),
        }
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 300 draws")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--chains", type=int, default=4)
    args = parser.parse_args(argv)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    seeds = range(2 if args.quick else args.seeds)
    draws = 300 if args.quick else None
    rows = run(seeds, args.chains, draws)
    table = summarize(rows)
    settings = {
        "seeds": list(seeds),
        "chains": args.chains,
        "draws": draws or "pm.sample default",
        "tune": draws or "pm.sample default",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "pymc": pm.__version__,
        "auxified": "auxify(centered), the default centering='auto'",
    }
    text = "\n\n".join(
        [
            "# Quick start: divergences on eight schools, original vs auxified",
            f"Settings: {json.dumps(settings)}. One run = {args.chains} chains x "
            f"{draws or 1000} draws; divergences are counted over all chains of a run. With "
            "pm.sample's default tune, nutpie tunes for its own default (400 steps), PyMC's "
            "NUTS for 1000.",
            table.to_markdown() if _has_tabulate() else table.to_string(),
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    name = "quickstart_quick" if args.quick else "quickstart"
    (RESULTS / f"{name}.json").write_text(json.dumps({"settings": settings, "rows": rows}))
    (RESULTS / f"{name}.md").write_text(text + "\n")
    print(text)


def _has_tabulate() -> bool:
    import importlib.util

    return importlib.util.find_spec("tabulate") is not None


if __name__ == "__main__":
    main()
