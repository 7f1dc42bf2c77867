"""Cost of the automatic centering choice as the number of latent elements grows.

Varying-intercepts models (:func:`~pymc_auxform.reference_models.varying_intercepts`, latent
``sigma``) with 300, 3,000 and 10,000 groups of 1 to 5 rows: time of ``choose_centering``, its
gradients and Hessian-vector products (the profile search's Newton steps on the group effects and
the information; their number does not grow with the number of groups). Targets of issue 12
(part 1): the choice at 3,000 groups takes at most twice its time at 300, and the information
costs at most 20 gradient-equivalents per pilot iteration whatever the size. A product's cost in
gradients is measured on the pilot's own compiled functions (mean time of a product over mean
time of a gradient evaluation, in the same choice). Its share of a whole ``pm.sample`` call on
the big models is in ``bench_scale.py`` (``choose / pm.sample``).

Run by hand: ``PYTHONPATH=. python benchmarks/bench_centering_scale.py``; writes
``benchmarks/results/centering_scale.{md,json}``.
"""

from __future__ import annotations

import datetime
import json
import time
import warnings

from contextlib import contextmanager
from pathlib import Path

import numpy as np

import pymc_auxform._pilot as pilot_module

from pymc_auxform import choose_centering
from pymc_auxform.reference_models import simulate_hierarchical, varying_intercepts

RESULTS = Path(__file__).parent / "results"


class _Timed:
    """A compiled function that adds its wall time and calls to ``log[key]``."""

    def __init__(self, fn, log: dict, key: str):
        self.fn, self.log, self.key = fn, log, key

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            seconds, calls = self.log.get(self.key, (0.0, 0))
            self.log[self.key] = (seconds + time.perf_counter() - start, calls + 1)


@contextmanager
def _instrumented(log: dict):
    """Time the pilot's gradient evaluations, the search's products (``_hvp``: differences of
    gradients) and the information (its products are checked central differences), and count
    the products the information uses (the rest are the profile search's Newton steps)."""
    init, information = pilot_module.Pilot.__init__, pilot_module.Pilot.information

    def timed_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        # a product is a difference of gradients: its evaluations are logged under "hvp" only
        objective, hvp = self._objective, self._hvp
        self._objective = _Timed(objective, log, "gradient")

        def timed_hvp(*a, **k):
            self._objective = objective
            try:
                return _Timed(hvp, log, "hvp")(*a, **k)
            finally:
                self._objective = _Timed(objective, log, "gradient")

        self._hvp = timed_hvp

    def counted_information(self):
        before, start = self.hvp_calls, time.perf_counter()
        try:
            return information(self)
        finally:
            log["information hvps"] = log.get("information hvps", 0) + self.hvp_calls - before
            seconds = time.perf_counter() - start
            log["information seconds"] = log.get("information seconds", 0.0) + seconds

    pilot_module.Pilot.__init__ = timed_init
    pilot_module.Pilot.information = counted_information
    try:
        yield
    finally:
        pilot_module.Pilot.__init__ = init
        pilot_module.Pilot.information = information


def main() -> None:
    rows = []
    choose_centering(varying_intercepts(*simulate_hierarchical(10, 2, seed=0)))  # warm-up
    for n in (300, 3000, 10000):
        counts = np.random.default_rng(n).integers(1, 6, size=n)
        model = varying_intercepts(*simulate_hierarchical(n, counts, seed=1), sigma=None)
        start = time.perf_counter()
        choice = choose_centering(model)
        seconds = time.perf_counter() - start
        log: dict = {}
        with _instrumented(log):  # a second, instrumented choice for the cost of a product
            again = choose_centering(model)
        assert again.hvp_calls == choice.hvp_calls and again.gradient_calls == choice.gradient_calls
        (g_seconds, g_calls), (h_seconds, h_calls) = log["gradient"], log["hvp"]
        hvp_cost = (h_seconds / h_calls) / (g_seconds / g_calls)
        # iterations: the start (information at the initial point) and each search
        passes = choice.iterations + 1
        rows.append(
            {
                "groups": n,
                "rows": int(counts.sum()),
                "seconds": seconds,
                "iterations": choice.iterations,
                "gradients": choice.gradient_calls,
                "hvps": choice.hvp_calls,
                "hvp / gradient": hvp_cost,
                "information hvps": log["information hvps"],
                # timed, not counted: its products are central differences (two evaluations),
                # dearer than the search's forward ones
                "information per iteration": log["information seconds"]
                / (g_seconds / g_calls)
                / passes,
                "total per iteration": (choice.gradient_calls + choice.hvp_calls * hvp_cost)
                / passes,
            }
        )
        print(rows[-1], flush=True)
    base = rows[0]["seconds"]
    lines = [
        "| groups | rows | choose s | / 300 groups | pilot iterations | gradients | HVPs "
        "| HVP / gradient | information HVPs | information per iteration (gradient-equivalents) "
        "| total per iteration |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['groups']} | {r['rows']} | {r['seconds']:.1f} | {r['seconds'] / base:.2f}x "
            f"| {r['iterations']} | {r['gradients']} | {r['hvps']} | {r['hvp / gradient']:.1f} "
            f"| {r['information hvps']} | {r['information per iteration']:.1f} "
            f"| {r['total per iteration']:.0f} |"
            for r in rows
        ),
    ]
    worst = max(r["information per iteration"] for r in rows)
    now = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
    text = "\n".join(
        [
            "# Cost of centering='auto' as the model grows",
            "",
            f"Date: {now} UTC. One process, after a warm-up call; two shared cores (seconds are "
            "noisy). Gradients: evaluations of the pilot's density and gradient; HVPs: "
            "Hessian-vector products (the profile search's Newton steps on the group effects and "
            "the information), each a difference of likelihood gradients (central: two "
            "evaluations; forward from the point just evaluated, in the Newton steps: one). "
            "HVP / gradient: the mean time of a search's product (the information's are timed in "
            "its own column) over a gradient evaluation's. Information per "
            "iteration: the time the information took (its products, at most two per noise "
            "variable and colour, all central differences) in gradient evaluations, over the "
            "pilot iterations (the start and each search); total per iteration adds the search "
            "(its gradients and Newton-step products).",
            "",
            *lines,
            "",
            f"3,000 / 300 groups: {rows[1]['seconds'] / base:.2f}x (target of issue 12: at most "
            f"2x). Information per pilot iteration: at most {worst:.1f} gradient-equivalents "
            "(target: at most 20, whatever the size). The choice's share of a whole `pm.sample` call on the 10,000-group model is in "
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
