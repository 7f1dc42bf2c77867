"""Scale benchmark (issue 12): auxify at 10,000 variables, big models, many chains under JAX.

1. ``auxify(centering=0.0)`` time on a chain ``z_i ~ N(0.9 z_{i-1}, 2)`` of 1,000, 3,000 and
   10,000 scalar free variables, next to the time PyMC takes to *build* that model (target:
   auxify / build <= 1, linear), and PyMC's own ``fgraph_from_model`` + ``model_from_fgraph``
   round trip (quadratic) next to ours (``pymc_auxform._fgraph``) at a few sizes.
2. Big models, original vs ``auxify`` (the pure rewrite, ``centering=0.0``) vs
   ``auxify(centering="auto")``: a varying-intercepts model with 10,000 groups and Kingma's
   (2013) DBN written with ``pytensor.scan`` at T=1,000 (10,000 latent
   elements). Auxify time, choice time, compile time, peak memory (each version runs in its own
   process: peak RSS), ESS/s with nutpie, and the choice's time as a fraction of the whole
   ``pm.sample`` call. Few draws (see ``SETTINGS``): the point is the cost at scale, the ESS
   numbers are rough. The DBN at T=1,000 runs NUTS at its tree-depth cap (1,023 gradient steps per
   draw, each a 1,000-step scan), hence its few draws; ``steps / draw`` and ``s / draw`` in the
   table show it.
3. Many chains: chains vectorized with numpyro (``nuts={"chain_method": "vectorized"}``) on the
   auxified DBN (T=20, 16 chains) and the auxified 10,000-group model (4 and 16 chains), against as many
   nutpie chains with the same tuning and draws (``MANY``; numpyro kernel settings in ``NUMPYRO``).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--quick] [--skip chain]`` (about 30 minutes
on a shared 2-core machine, 10 without the chain section, plus the many-chain rows of the
10,000-group model, far longer on CPU JAX: 27 min for 4 vectorized numpyro chains, 16 not finished
in 9, with numpyro's default adaptation; 1.5 and 10 min for 4 and 16 chains with ``NUMPYRO``'s
settings;
``--quick`` is a smoke test); writes
``benchmarks/results/scale.md`` and ``scale.json``. Skipped sections keep the rows (and date) of
the last results file; ``--chain-models NAME`` runs only that model's many-chain rows and keeps
the others' (each row carries its date).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import multiprocessing as mp
import platform
import resource
import statistics
import sys
import time
import warnings

from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {  # sampling settings per model: few draws, the point is the cost at scale
    "varying intercepts (10,000 groups)": {"chains": 2, "tune": 200, "draws": 200},
    # NUTS runs at its depth cap here (1,023 gradient steps per draw, ~1-3 ms each): ~1-3 s a draw
    "DBN scan (T=1,000)": {"chains": 2, "tune": 40, "draws": 40},
}
MANY = {  # many chains: chain counts, tune and draws per chain (numpyro and nutpie alike)
    "DBN loop (T=20)": {"chains": (16,), "tune": 100, "draws": 100},
    # One vmapped gradient costs ~1.2 ms for 1 chain, ~4.9 ms for 4 and ~46 ms for 16 on CPU JAX
    # here (XLA's batched gather / scatter-add over 100,147 rows; a hand-written JAX logp is as
    # slow): 16 vectorized chains take ~20 min even with NUMPYRO's settings (pass --timeout).
    "varying intercepts (10,000 groups)": {"chains": (4, 16), "tune": 150, "draws": 50},
}
# numpyro kernel settings per model (many-chain rows). The auxified 10,000-group model has scalars
# whose posterior variance is ~1e-6 (mu_eps, sigma_eps) next to ~0.3 for alpha_eps. numpyro's
# defaults then fail at tune=150: (a) its first 75 warm-up draws (Stan's init buffer) run with the
# identity mass matrix at the depth cap (1,023 gradients a draw, step size ~3e-4); (b) its only
# mass-matrix window has 25 draws, and Stan's regularization ``n/(n+5) var + 1e-3 * 5/(n+5)`` puts
# a 1.7e-4 floor on every variance, ~100x the scalars' own: the kept draws then take 127 (1 chain)
# to 447 (4 chains, max 1,023) gradients instead of nutpie's 31. ``regularize_mass_matrix=False``
# fixes (b) (31 steps a draw after tune=150); ``grad_init`` starts numpyro from the diagonal
# ``1 / |gradient at the initial point|``, what nutpie starts from, which fixes (a).
NUMPYRO = {
    "varying intercepts (10,000 groups)": {"regularize_mass_matrix": False, "grad_init": True},
}
QUICK = {
    "varying intercepts (10,000 groups)": {"chains": 2, "tune": 30, "draws": 30},
    "DBN scan (T=1,000)": {"chains": 2, "tune": 20, "draws": 20},
}


def _setup():
    sys.path.insert(0, str(ROOT))  # this checkout's package, whatever is installed
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("pymc").setLevel(logging.ERROR)


# --- 1. auxify time on a chain ------------------------------------------------------------------


def chain_model(n: int):
    """``z_0 ~ N(0, 1)``, ``z_i ~ N(0.9 z_{i-1}, 2)``: ``n`` scalar free variables."""
    import pymc as pm

    with pm.Model() as model:
        z = pm.Normal("z_0", 0.0, 1.0)
        for i in range(1, n):
            z = pm.Normal(f"z_{i}", 0.9 * z, 2.0)
    return model


def bench_chain(sizes, roundtrip_sizes, repeats) -> tuple[list[dict], list[dict]]:
    from pymc.model.fgraph import fgraph_from_model, model_from_fgraph

    from pymc_auxform import auxify
    from pymc_auxform._fgraph import graph_from_model, model_from_graph

    auxify(chain_model(50), centering=0.0)  # warm-up: imports, caches
    rows = []
    for n in sizes:
        builds, auxes = [], []
        for _ in range(repeats if n <= 3000 else 2):
            start = time.perf_counter()
            model = chain_model(n)
            builds.append(time.perf_counter() - start)
            start = time.perf_counter()
            aux = auxify(model, centering=0.0)
            auxes.append(time.perf_counter() - start)
            assert len(aux.free_RVs) == n
        b, a = statistics.median(builds), statistics.median(auxes)
        ratio = statistics.median(x / y for x, y in zip(auxes, builds))  # each pair back to back
        rows.append({"free variables": n, "build s": b, "auxify s": a, "auxify / build": ratio})
        print(f"  chain {n}: build {b:.2f} s, auxify {a:.2f} s", flush=True)
    trips = []
    for n in roundtrip_sizes:
        model = chain_model(n)
        ours = []
        for _ in range(2):
            start = time.perf_counter()
            model_from_graph(graph_from_model(model)[0])
            ours.append(time.perf_counter() - start)
        ours = min(ours)
        start = time.perf_counter()
        model_from_fgraph(fgraph_from_model(model)[0], mutate_fgraph=True)
        theirs = time.perf_counter() - start
        trips.append({"free variables": n, "PyMC round trip s": theirs, "ours s": ours})
        print(f"  round trip {n}: PyMC {theirs:.2f} s, ours {ours:.3f} s", flush=True)
    return rows, trips


# --- 2. big models ------------------------------------------------------------------------------


def build(name: str):
    from pymc_auxform.reference_models import dbn, simulate_hierarchical, varying_intercepts

    if name.startswith("varying intercepts"):
        import numpy as np

        per_group = np.random.default_rng(1).integers(1, 20, size=10_000)  # weak and strong data
        group, y = simulate_hierarchical(n_groups=10_000, obs_per_group=per_group, seed=1)
        return varying_intercepts(group, y, sigma=None)
    if name.startswith("DBN scan"):
        return dbn(1000, form="scan")
    if name == "DBN loop (T=20)":
        return dbn(20, form="loop")
    raise ValueError(name)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(name: str, version: str, sampler: str, settings: dict, seed: int = 1) -> dict:
    """One model in one version, in a fresh process: times, peak memory, sampling metrics."""
    _setup()
    import pymc as pm

    from pymc_auxform import auxify, report, sampling_metrics

    start = time.perf_counter()
    original = build(name)
    row = {"model": name, "version": version, "sampler": sampler, **settings}
    row["build s"] = time.perf_counter() - start
    names = [rv.name for rv in original.free_RVs]
    model, row["auxify s"], row["choose s"] = original, 0.0, 0.0
    if version == "auxify":
        start = time.perf_counter()
        model = auxify(original, centering=0.0)
        row["auxify s"] = time.perf_counter() - start
    if version == "auto":  # auxify(model), the default: its choice's own time read off the report
        start = time.perf_counter()
        model = auxify(original)
        total = time.perf_counter() - start
        choice = report(model).centering
        row["choose s"] = choice.seconds
        row["auxify s"] = total - choice.seconds
        row["choice"] = {name: _lam_summary(lam) for name, lam in choice.lam.items()}
    row["peak MB before sampling"] = _peak_mb()
    kwargs = {}
    if sampler in ("numpyro", "blackjax"):
        kwargs["nuts"] = {"chain_method": "vectorized"}  # PyMC 6.4: nuts={...}
    if sampler == "numpyro" and name in NUMPYRO:
        options = dict(NUMPYRO[name])
        row["numpyro options"] = json.dumps(options)
        if options.pop("grad_init", False):
            options["inverse_mass_matrix"] = _grad_init_inverse_mass(model)
        kwargs["nuts"].update(options)
    start = time.perf_counter()
    with model:
        idata = pm.sample(
            **settings,
            nuts_sampler=sampler,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            **kwargs,
        )
    wall = time.perf_counter() - start
    m = sampling_metrics(idata, var_names=names)
    row.update(
        {
            "pm.sample s": wall,
            "choose / pm.sample": row["choose s"] / wall,
            "compile s": wall - m.seconds,
            "sampling s": m.seconds,
            "s / draw": m.seconds / (settings["tune"] + settings["draws"]),
            "steps / draw": m.grad_evals / (settings["chains"] * settings["draws"]),
            "min ESS bulk": m.min_ess_bulk,
            "ESS/s": m.ess_per_second,
            "divergences": m.divergences,
            "grad evals": m.grad_evals,
            "peak MB": _peak_mb(),
        }
    )
    stats = idata["sample_stats"].to_dataset()
    if "n_steps" in stats:  # vectorized chains pay the deepest tree of all chains at each draw
        row["max steps / draw"] = float(stats["n_steps"].max("chain").mean())
    return row


def _grad_init_inverse_mass(model, seed: int = 1, bounds=(1e-8, 1.0)):
    """Diagonal ``1 / |d logp|`` at a jittered initial point (PyMC's ``uniform(-1, 1)`` jitter;
    nutpie starts from the same kind of diagonal), raveled in ``model.value_vars`` order: numpyro's
    initial ``inverse_mass_matrix`` (shared by the vectorized chains). A zero gradient gives 1."""
    import numpy as np

    rng = np.random.default_rng(seed)
    point = {k: v + rng.uniform(-1, 1, size=np.shape(v)) for k, v in model.initial_point().items()}
    grad = np.abs(model.compile_dlogp(jacobian=True)(point))
    return np.clip(np.where(grad > 0, 1.0 / np.where(grad > 0, grad, 1.0), 1.0), *bounds)


def _lam_summary(lam) -> str:
    """``1`` / ``0`` / ``partial`` per variable, with the share of centered elements."""
    import numpy as np

    lam = np.asarray(lam, dtype=float)
    if lam.size == 1:
        return f"{float(lam):g}"
    centered, auxiliary = (lam == 1).mean(), (lam == 0).mean()
    return f"{centered:.0%} centered, {auxiliary:.0%} auxiliary, {1 - centered - auxiliary:.0%} partial"


TIMEOUT = 600  # seconds per run; a run that takes longer is reported as such


def in_process(*args) -> dict:
    """Run :func:`run_variant` in a new process (its own peak memory, no shared caches)."""
    with mp.get_context("spawn").Pool(1) as pool:
        try:
            return pool.apply_async(run_variant, args).get(timeout=TIMEOUT)
        except mp.TimeoutError:
            return {
                "model": args[0],
                "version": args[1],
                "sampler": args[2],
                "error": f"did not finish in {TIMEOUT} s",
            }


def bench_big(settings: dict, versions, on_row=lambda rows: None) -> list[dict]:
    rows = []
    for name, s in settings.items():
        for version in versions:
            print(f"  {name} / {version}", flush=True)
            try:
                rows.append(in_process(name, version, "nutpie", s))
            except Exception as err:  # keep the other rows; say what failed
                rows.append({"model": name, "version": version, "error": repr(err)[:300]})
            print(f"    {rows[-1]}", flush=True)
            on_row(rows)
    return rows


def bench_chains(many: dict, version: str = "auxify", on_row=lambda rows: None) -> list[dict]:
    rows = []
    for name, m in many.items():
        for chains, sampler in itertools.product(m["chains"], ("numpyro", "nutpie")):
            s = {"chains": chains, "tune": m["tune"], "draws": m["draws"]}
            print(f"  {name} / {sampler} x {chains} chains", flush=True)
            try:
                rows.append(in_process(name, version, sampler, s))
            except Exception as err:
                row = {"model": name, "version": version, "sampler": sampler}
                rows.append({**row, "error": repr(err)[:300]})
            rows[-1]["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            print(f"    {rows[-1]}", flush=True)
            on_row(rows)
    return rows


# --- output -------------------------------------------------------------------------------------


def table(rows: list[dict], cols: dict[str, str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for col, fmt in cols.items():
            value = r.get(col, "")
            cells.append(format(value, fmt) if isinstance(value, int | float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(res: dict) -> str:
    s = res["settings"]
    big = [r for r in res["big"] if "error" not in r]
    errors = [r for r in res["big"] + res["chains"] if "error" in r]
    chain_date = res.get("chain date", s["date"])
    parts = [
        "# Scale benchmark",
        f"Date: {s['date']}. Machine: {s['machine']}. Sampling settings: "
        f"{json.dumps(s['sampling'])}; many chains: {json.dumps(s['many_chains'])}. "
        "Timings on a shared 2-core machine: compare ratios within one run."
        + (
            f" The first two tables are from the run of {chain_date}."
            if chain_date != s["date"]
            else ""
        ),
        "## auxify() time on a chain of scalar free variables (medians over repeats)",
        table(
            res["chain"],
            {"free variables": "d", "build s": ".2f", "auxify s": ".2f", "auxify / build": ".2f"},
        ),
        "## Model -> graph -> model round trip: PyMC's (quadratic) and ours (linear)",
        table(
            res["roundtrip"], {"free variables": "d", "PyMC round trip s": ".2f", "ours s": ".3f"}
        ),
        "## Big models (nutpie; each version in its own process)"
        + (f" (run of {res['big date']})" if res.get("big date", s["date"]) != s["date"] else ""),
        "`choose / pm.sample`: the automatic choice's time over the wall time of the whole "
        "`pm.sample` call (compile + tune + draws). `steps / draw`: gradient evaluations per "
        "kept draw (1,023 = NUTS at its tree-depth cap of 10). `s / draw`: sampling seconds per "
        "draw, tuning included, chains in parallel.",
        table(
            big,
            {
                "model": "",
                "version": "",
                "build s": ".2f",
                "auxify s": ".2f",
                "choose s": ".1f",
                "compile s": ".0f",
                "sampling s": ".0f",
                "choose / pm.sample": ".1%",
                "peak MB": ".0f",
                "steps / draw": ".0f",
                "s / draw": ".3f",
                "min ESS bulk": ".0f",
                "ESS/s": ".2f",
            },
        ),
        "Choice of `auto`: "
        + (
            "; ".join(
                f"{r['model']}: " + ", ".join(f"{k} {v}" for k, v in r["choice"].items())
                for r in big
                if r.get("choice")
            )
            or "none"
        )
        + " (1 = centered, 0 = auxiliary).",
        "## Many chains: numpyro vectorized vs nutpie (auxified models; `auxify` is the pure "
        "rewrite, `auto` is `auxify(model)`'s default)"
        + (
            f" (run of {res['chains date']})"
            if res.get("chains date", s["date"]) != s["date"]
            else ""
        ),
        "numpyro's sampling time includes its JIT compilation (PyMC times them together). "
        "`steps / draw`: gradient evaluations per kept draw and chain; `max steps / draw`: the "
        "deepest tree over the chains, averaged over the kept draws (what a vectorized numpyro "
        "step costs, every chain waiting for it; nutpie's chains do not wait for each other). "
        "`s / draw`: sampling seconds per draw, tuning included. numpyro kernel options "
        f"per model (`inverse_mass_matrix` from `grad_init`): {json.dumps(NUMPYRO)}.",
        table(
            [r for r in res["chains"] if "error" not in r],
            {
                "model": "",
                "version": "",
                "sampler": "",
                "chains": "d",
                "compile s": ".0f",
                "sampling s": ".0f",
                "tune": "d",
                "draws": "d",
                "steps / draw": ".0f",
                "max steps / draw": ".0f",
                "s / draw": ".3f",
                "min ESS bulk": ".0f",
                "ESS/s": ".2f",
                "date": "",
            },
        ),
    ]
    if errors:
        parts += ["## Failed runs", "\n".join(f"- {e}" for e in errors)]
    return "\n\n".join(parts) + "\n"


def _previous(skipped) -> dict:
    """Sections skipped in this run keep their rows (and their date) from the last results file."""
    path = RESULTS / "scale.json"
    if not skipped or not path.exists():
        return {}
    previous = json.loads(path.read_text())
    sections = {"chain": ("chain", "roundtrip"), "big": ("big",), "chains": ("chains",)}
    kept = {key: previous.get(key, []) for skip in skipped for key in sections[skip]}
    for skip in skipped:
        kept[f"{skip} date"] = previous.get(f"{skip} date", previous["settings"]["date"])
    return kept


def _merged(res: dict, skipped, chain_models, chain_version: str = "auxify") -> dict:
    """This run's results over the last file's: skipped sections and the many-chain rows of the
    models or versions not run this time (``--chain-models``, ``--chain-version``) are the last
    file's."""
    skipped = list(skipped)
    if chain_models is not None and "chains" not in skipped:
        skipped.append("chains")
    out = {**res, **_previous(skipped)}
    if chain_models is not None and out.get("chains date"):
        date = out.pop("chains date")  # each row says which run it is from
        kept = [  # rows of the last run: its date, and its tune = draws = MANY's (unchanged)
            {
                "date": date,
                "tune": MANY[r["model"]]["tune"],
                "draws": MANY[r["model"]]["draws"],
                **r,
            }
            for r in out["chains"]
            if r.get("model") not in chain_models or r.get("version", "auxify") != chain_version
        ]
        out["chains"] = kept + res["chains"]
    return out


def main(argv=None) -> dict:
    global TIMEOUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few draws")
    parser.add_argument("--skip", nargs="*", default=(), choices=("chain", "big", "chains"))
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per run")
    parser.add_argument(
        "--versions", nargs="*", default=("original", "auxify", "auto"), help="of the big models"
    )
    parser.add_argument(
        "--chain-sizes", nargs="*", type=int, default=(1000, 3000, 10000), help="chain lengths"
    )
    parser.add_argument(
        "--chain-models",
        nargs="*",
        default=None,
        choices=tuple(MANY),
        help="run only these models' many-chain rows (the others keep the last file's rows)",
    )
    parser.add_argument(
        "--chain-version",
        default="auxify",
        choices=("auxify", "auto"),
        help="form of the many-chain rows: the pure rewrite or centering='auto'",
    )
    args = parser.parse_args(argv)
    TIMEOUT = args.timeout
    _setup()
    sampling = QUICK if args.quick else SETTINGS
    many = {k: {"chains": (4,), "tune": 20, "draws": 20} for k in MANY} if args.quick else MANY
    res = {
        "settings": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "sampling": sampling,
            "many_chains": many,
            "timeout per run s": args.timeout,
        }
    }
    start = time.perf_counter()
    print("1. auxify time on a chain", flush=True)
    sizes, trips = ((200, 600), (200, 400)) if args.quick else (args.chain_sizes, (500, 1000))
    res["chain"], res["roundtrip"] = (
        ([], []) if "chain" in args.skip else bench_chain(sizes, trips, 1 if args.quick else 3)
    )
    print("2. big models", flush=True)
    res["big"], res["chains"] = [], []

    def save(key=None):
        def on_row(rows):
            if key is not None:
                res[key] = rows
            res["settings"]["total seconds"] = time.perf_counter() - start
            if not args.quick:  # a smoke test writes nothing; a long run saves every row
                _write(
                    _merged(res, args.skip, args.chain_models, args.chain_version)
                )  # read now: runs may overlap

        return on_row

    save()(None)
    if "big" not in args.skip:
        bench_big(sampling, args.versions, on_row=save("big"))
    print("3. many chains", flush=True)
    if "chains" not in args.skip:
        run = many if args.chain_models is None else {k: many[k] for k in args.chain_models}
        bench_chains(run, args.chain_version, on_row=save("chains"))
    save()(None)
    print(to_markdown(_merged(res, args.skip, args.chain_models, args.chain_version)))
    return res


def _write(res: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(res, indent=2, default=float))
    (RESULTS / "scale.md").write_text(to_markdown(res))


if __name__ == "__main__":
    main()
