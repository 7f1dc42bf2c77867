"""The main demo (``make demo``): original vs auxiliary form on eight schools and Kingma's (2013) DBN.

Both models are written the natural (centered) way, auxified with one call, and sampled in both
forms with the same sampler, settings (``target_accept=0.9``) and seed. The table shows
divergences, the smallest bulk ESS over the original variables, ESS per second of sampling
(compilation excluded) and ESS per gradient evaluation. Takes a few minutes on 2 cores, most of
it in the original DBN, whose chains crawl (that is the point).

Run: ``python examples/demo.py [--draws N] [--tune N] [--chains N] [--seed N]``.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import pandas as pd

import pymc_auxform as pax

from pymc_auxform.reference_models import dbn, eight_schools


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--target-accept", type=float, default=0.9)
    args = parser.parse_args(argv)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)

    models = {
        "eight schools": eight_schools(),
        "DBN (20 steps x 10 latents)": dbn(form="loop"),
    }
    print("pymc_auxform demo: the model as written vs auxify(model), same sampler and seed\n")
    print(pax.report(pax.auxify(models["eight schools"])), end="\n\n")

    results = {}
    for name, model in models.items():
        print(f"sampling {name}: original and auxiliary form ...", flush=True)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pax.AuxformSamplingWarning)
            results[name] = pax.compare_forms(
                model,
                draws=args.draws,
                tune=args.tune,
                chains=args.chains,
                random_seed=args.seed,
                target_accept=args.target_accept,
                cores=1,
                progressbar=False,
            )
        print(f"  done in {time.perf_counter() - start:.0f} s (with compilation)", flush=True)

    sampler = next(iter(results.values())).metrics["original"].sampler
    print(
        f"\n{args.chains} chains x {args.draws} draws (tune {args.tune}), sampler {sampler}, "
        f"target_accept {args.target_accept}, random_seed {args.seed}\n"
    )
    print(side_by_side(results))
    for warning in (w for res in results.values() for w in res.warnings):
        print(f"\nnote: {warning}")


def side_by_side(results: dict) -> str:
    """One row per model and form: divergences, min bulk ESS, ESS/s, ESS per gradient, gain."""
    frames = []
    for name, res in results.items():
        runs = res.runs()[["divergences", "min_ess_bulk", "ess_per_second", "ess_per_grad"]]
        runs["ESS/s gain"] = runs["ess_per_second"] / runs.loc["original", "ess_per_second"]
        frames.append(runs.assign(model=name).set_index("model", append=True))
    table = pd.concat(frames).reorder_levels(["model", "form"])
    return table.to_string(float_format="{:.4g}".format)


if __name__ == "__main__":
    main()
