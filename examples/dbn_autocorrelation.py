"""Kingma's (2013) figure: samples and autocorrelation of the DBN's first latent, original vs auxiliary.

Kingma (2013), slide "Experiment: DBN": in the original form each ``z_j`` is moved only by its
Markov blanket, so ``z_0`` feels the later observations only through the chain and HMC mixes
"terribly slowly"; in the auxiliary form all noise variables are root nodes and it mixes fast.
This script samples both forms with the same settings and saves the comparison, one ArviZ figure
with both forms each, to ``examples/output/dbn_autocorrelation.png`` (autocorrelation) and
``examples/output/dbn_samples.png`` (draws).

Run: ``python examples/dbn_autocorrelation.py [--draws N] [--var z_0]``.
"""

from __future__ import annotations

import argparse
import logging
import warnings

from pathlib import Path

import matplotlib

import pymc_auxform as pax

from pymc_auxform.reference_models import dbn

OUTPUT = Path(__file__).parent / "output"


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--var", default="z_0", help="DBN variable to show (z_0 ... z_19)")
    parser.add_argument("--max-lag", type=int, default=100)
    parser.add_argument("--latents", type=int, default=4, help="latent dimensions to show")
    args = parser.parse_args(argv)
    matplotlib.use("Agg")
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)

    model = dbn(form="loop")
    res = pax.compare_forms(
        model,
        aux_model=pax.auxify(model, centering=0.0),  # Kingma's auxiliary form, every transition
        draws=args.draws,
        tune=args.tune,
        chains=1,
        random_seed=args.seed,
        cores=1,
        progressbar=False,
        warn=False,
    )
    print(res)
    coords = {"latent": list(range(args.latents))}
    about = f"({res.metrics['original'].sampler}, {args.draws} draws, seed {args.seed})"
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "dbn_autocorrelation.png"
    pc = res.plot_autocorr(
        args.var,
        max_lag=args.max_lag,
        coords=coords,
        title=f"Kingma's (2013) DBN (T=20, z in R^10): autocorrelation of {args.var} {about}",
    )
    pc.savefig(path, dpi=110, bbox_inches="tight")
    samples = OUTPUT / "dbn_samples.png"
    pc = res.plot_trace(
        args.var, coords=coords, title=f"Kingma's (2013) DBN: draws of {args.var} {about}"
    )
    pc.savefig(samples, dpi=110, bbox_inches="tight")
    print(f"saved {path} and {samples}")
    return path


if __name__ == "__main__":
    main()
