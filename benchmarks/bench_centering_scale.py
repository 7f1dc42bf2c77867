"""Cost of the automatic centering choice as the number of latent elements grows.

Varying-intercepts models (:func:`~pymc_auxform.reference_models.varying_intercepts`, latent
``sigma``) with 300, 3,000 and 10,000 groups of 1 to 5 rows: time of ``choose_centering``, its
gradients and Hessian-vector products (the profile search's Newton steps on the group effects and
the information; their number does not grow with the number of groups). Target of issue 12
(part 1): the choice at 3,000 groups takes at most twice its time at 300. Its share of a whole
``pm.sample`` call on the big models is in ``bench_scale.py`` (``choose / pm.sample``).

Run by hand: ``PYTHONPATH=. python benchmarks/bench_centering_scale.py``; writes
``benchmarks/results/centering_scale.{md,json}``.
"""

from __future__ import annotations

import datetime
import json
import time
import warnings

from pathlib import Path

import numpy as np

from pymc_auxform import choose_centering
from pymc_auxform.reference_models import simulate_hierarchical, varying_intercepts

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    rows = []
    choose_centering(varying_intercepts(*simulate_hierarchical(10, 2, seed=0)))  # warm-up
    for n in (300, 3000, 10000):
        counts = np.random.default_rng(n).integers(1, 6, size=n)
        model = varying_intercepts(*simulate_hierarchical(n, counts, seed=1), sigma=None)
        start = time.perf_counter()
        choice = choose_centering(model)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "groups": n,
                "rows": int(counts.sum()),
                "seconds": seconds,
                "iterations": choice.iterations,
                "gradients": choice.gradient_calls,
                "hvps": choice.hvp_calls,
            }
        )
        print(rows[-1], flush=True)
    base = rows[0]["seconds"]
    lines = [
        "| groups | rows | choose s | / 300 groups | pilot iterations | gradients | HVPs |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['groups']} | {r['rows']} | {r['seconds']:.1f} | {r['seconds'] / base:.2f}x "
            f"| {r['iterations']} | {r['gradients']} | {r['hvps']} |"
            for r in rows
        ),
    ]
    now = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
    text = "\n".join(
        [
            "# Cost of centering='auto' as the model grows",
            "",
            f"Date: {now} UTC. One process, after a warm-up call; two shared cores (seconds are "
            "noisy). Gradients: evaluations of the pilot's density and gradient; HVPs: "
            "Hessian-vector products (the profile search's Newton steps on the group effects and "
            "the information).",
            "",
            *lines,
            "",
            f"3,000 / 300 groups: {rows[1]['seconds'] / base:.2f}x (target of issue 12: at most "
            "2x). The choice's share of a whole `pm.sample` call on the 10,000-group model is in "
            "`scale.md` (`choose / pm.sample`).",
            "",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "centering_scale.md").write_text(text)
    (RESULTS / "centering_scale.json").write_text(json.dumps({"date": now, "rows": rows}, indent=1))
    print(text)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    main()
