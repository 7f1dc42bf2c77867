"""Cost of one log density + gradient evaluation of the partially centered form.

A per-element centering ``lam`` (as chosen by ``choose_centering``) over thousands of groups with
a scalar group scale ``tau`` used to take ``tau**lam`` and ``tau**(1 - lam)`` per element, which
dominated the gradient. The powers are now taken on the distinct values of ``lam`` and gathered
(:func:`pymc_auxform.forms.graph.scale_powers`). With a group-level predictor, the partial form
written as ``mu + down * (e - lam * mu)`` scattered the per-row gradient to the groups twice
(PyTensor folded ``mu``'s two gradient terms into a second scatter-add); it is now written as
``(1 - lam * down) * mu + down * e``, one scatter as in the auxiliary form. Per model, forms:

- ``written``: the model as written (centered);
- ``auxiliary``: ``auxify(model, centering=0.0)``;
- ``partial``: ``auxify(model, centering=choose_centering(model).lam)``;
- ``partial, per element``: the same ``lam``, built with one power of the scale per element
  (forced by disabling the levels; ``exp(lam * log(scale))`` per element since 2026-12-07,
  one ``pow`` per element before: 0.79 ms on 10,000 groups, 0.057 on radon 10k rows);
- ``partial, continuous lam``: ``lam`` plus a tiny jitter so that all values differ (a user's
  continuous ``lam``: the powers stay per element).

Time = min over repeats of the mean time of a block of 20 calls of the compiled function
(Numba backend, ``[logp, *grad]`` with respect to every value variable); the forms' blocks are
interleaved, so that a busy machine slows them all alike.

Run by hand: ``PYTHONPATH=. python benchmarks/bench_partial_cost.py [--seconds 20]``; writes
``benchmarks/results/partial_cost.md``.
"""

from __future__ import annotations

import argparse
import datetime
import time
import warnings

from pathlib import Path
from unittest import mock

import numpy as np
import pytensor

from pymc_auxform import auxify, choose_centering
from pymc_auxform.reference_models import radon_style, simulate_hierarchical, varying_intercepts

RESULTS = Path(__file__).parent / "results"
BLOCK = 20


def ten_thousand_groups():
    """Varying intercepts, 10,000 groups of 1 to 19 rows (~100,000 rows), latent ``sigma``."""
    per_group = np.random.default_rng(1).integers(1, 20, size=10_000)
    group, y = simulate_hierarchical(n_groups=10_000, obs_per_group=per_group, seed=1)
    return varying_intercepts(group, y, sigma=None)


def radon_10k():
    """Radon-style varying intercepts: 10,000 rows, 386 groups."""
    return radon_style("intercept", 10_000, 386, seed=2)


def radon_predictor_10k():
    """Radon-style varying intercepts around a group-level predictor: 10,000 rows, 386 groups."""
    return radon_style("predictor", 10_000, 386, seed=5)


MODELS = {
    "10,000 groups (~100k rows)": ten_thousand_groups,
    "radon 10k rows / 386 groups": radon_10k,
    "radon 10k rows / 386 groups, group-level predictor": radon_predictor_10k,
}


def jitter(lam: dict) -> dict:
    """``lam`` with every per-element value moved by a distinct tiny amount (kept in [0, 1])."""
    out = {}
    for name, value in lam.items():
        value = np.asarray(value, dtype=float)
        step = 1e-9 * np.arange(value.size).reshape(value.shape)
        out[name] = np.clip(value + step, 0.0, 1.0) if value.ndim else value
    return out


def forms(build) -> tuple[dict, dict]:
    """The models to time, and the number of distinct ``lam`` values per variable."""
    lam = choose_centering(build()).lam
    with mock.patch("pymc_auxform.forms.graph.lam_levels", return_value=None):
        per_element = auxify(build(), centering=lam)
    models = {
        "written": build(),
        "auxiliary": auxify(build(), centering=0.0),
        "partial": auxify(build(), centering=lam),
        "partial, per element": per_element,
        "partial, continuous lam": auxify(build(), centering=jitter(lam)),
    }
    levels = {k: len(np.unique(v)) for k, v in lam.items() if np.ndim(v)}
    return models, levels


def logp_dlogp(model):
    """The compiled ``[logp, *grad]`` (Numba) and the initial point as its arguments."""
    values = model.value_vars
    logp = model.logp()
    fn = pytensor.function(values, [logp, *pytensor.grad(logp, values)], mode="NUMBA")
    point = model.initial_point()
    args = [point[v.name] for v in values]
    fn(*args)
    return fn, args


def time_all(compiled: dict, seconds: float) -> dict:
    """Min over interleaved blocks of the mean time per call, in ms."""
    best = dict.fromkeys(compiled, np.inf)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for name, (fn, args) in compiled.items():
            t = time.perf_counter()
            for _ in range(BLOCK):
                fn(*args)
            best[name] = min(best[name], (time.perf_counter() - t) / BLOCK)
    return {k: 1e3 * v for k, v in best.items()}


def main(seconds: float) -> None:
    sections = []
    for title, build in MODELS.items():
        models, levels = forms(build)
        compiled = {k: logp_dlogp(m) for k, m in models.items()}
        ms = time_all(compiled, seconds)
        print(title, {k: round(v, 4) for k, v in ms.items()}, flush=True)
        lines = [
            f"### {title}",
            "",
            f"Distinct values of the chosen lam: {levels}.",
            "",
            "| form | ms per logp + grad | / auxiliary |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v:.4f} | {v / ms['auxiliary']:.2f}x |" for k, v in ms.items()]
        sections += [*lines, ""]
    now = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
    text = "\n".join(
        [
            "# Cost of the partially centered form per gradient",
            "",
            f"Date: {now} UTC. Numba backend; min over interleaved repeats ({seconds:g} s per "
            f"model) of the mean time of {BLOCK} calls of [logp, *grad]. `partial, per element` "
            "is the construction without the levels (one power of the scale per element).",
            "",
            *sections,
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "partial_cost.md").write_text(text)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timing per model")
    main(parser.parse_args().seconds)
