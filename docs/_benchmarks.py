"""Summary tables of the benchmark results, for ``docs/benchmarks.md``.

``docs/conf.py`` replaces the marker ``<!-- BENCHMARK-RESULTS -->`` of the benchmarks page with
:func:`results_markdown`: for each results file ``benchmarks/results/<name>.json`` it knows, one
rounded table of at most seven columns with the key numbers, and a link to the full results
(``<name>.md``, every column). A results file it does not know, or whose layout changed, is shown
by its ``.md`` file as it is, so a new benchmark appears without editing the docs.
"""

from __future__ import annotations

import json
import math
import os
import re

from pathlib import Path

#: results files shown first, in this order; any others follow alphabetically
ORDER = ("core", "quickstart", "coverage", "centering", "em")


def _num(x, digits: int = 3) -> str:
    """``digits`` significant digits, no exponent, thousands separated; ``-`` for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    x = float(x)
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def _int(x) -> str:
    return "-" if x is None else f"{round(float(x)):,}"


def _ratio(x) -> str:
    return "-" if x is None else f"{_num(x, 2)}x"


_NUMBER = re.compile(r"^(-|[-−]?[\d,.]+x?( ± [\d.]+)?|[\d,]+( / [\d,]+)+)$")


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; columns of numbers right-aligned."""
    numeric = [all(_NUMBER.match(r[i]) for r in rows) for i in range(len(header))]
    align = ["--:" if n else "---" for n in numeric]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _core(d: dict) -> str:
    s = d["sampling"]
    out = [
        "### Sampling: as written, after `auxify`, and hand-written non-centered\n",
        "Two chains of 1000 draws after 1000 tuning steps (nutpie). ESS is the smallest bulk ESS "
        "over the model's variables; *ESS per 1000 gradients* is the measure of sampling "
        "efficiency that does not depend on the machine's load.\n",
        _table(
            ["model", "form", "divergences", "min ESS", "ESS / s", "ESS per 1000 gradients"],
            [
                [
                    r["model"],
                    {"original": "as written", "auxify": "after auxify"}.get(
                        r["version"], r["version"]
                    ),
                    _int(r["divergences"]),
                    _int(r["min_ess_bulk"]),
                    _num(r["ess_per_second"]),
                    _num(1000 * r["ess_per_grad"]),
                ]
                for r in s
            ],
        ),
        "### Cost of one log-density and gradient evaluation\n",
        "Microseconds per call of the compiled function; the auxified model should cost about "
        "what the hand-written non-centered model costs (ratio near 1).\n",
        _table(
            ["model", "as written µs", "auxify µs", "hand-written µs", "auxify / hand-written"],
            [
                [
                    r["model"],
                    _num(r["us_original"]),
                    _num(r["us_auxify"]),
                    _num(r["us_hand-written"]),
                    _num(r["auxify / hand-written"]),
                ]
                for r in d["grad_cost"]
            ],
        ),
        "### Time of `auxify()` itself\n",
        "A chain of scalar free variables; for scale, the time PyMC itself takes to turn the same "
        "model into a graph and back.\n",
        _table(
            ["free variables", "auxify s", "ms per variable", "PyMC graph round trip s"],
            [
                [
                    _int(r["free variables"]),
                    _num(r["auxify s"]),
                    _num(r["auxify ms per variable"]),
                    _num(r["PyMC fgraph round trip s"]),
                ]
                for r in d["auxify_time"]
            ],
        ),
    ]
    return "\n".join(out)


def _coverage(d: dict) -> str:
    st = d["settings"]
    names = {"dbn": "deep Bayes net", "grw": "Gaussian random walk", "mvnormal": "MvNormal"}
    rows = []
    for r in d["rows"]:
        rows.append(
            [
                names.get(r["model"], r["model"]),
                r["variant"]
                .replace("original", "as written")
                .replace("auxify(", "auxify (")
                .replace(")", " form)")
                if "(" in r["variant"]
                else r["variant"].replace("original", "as written"),
                _int(r["min_bulk_ess"]),
                _ratio(r["ess_per_s_vs_original"]),
                _num(r["ess_per_1k_grad"]),
                _int(r["divergences"]),
                _num(r["grad_cost_vs_hand"], 2),
            ]
        )
    return "\n".join(
        [
            "### Time series and multivariate models\n",
            f"{st['chains']} chains of {st['draws']} draws after {st['tune']} tuning steps. "
            "*Speed-up* is ESS per second relative to the model as written; *gradient cost* is "
            "the cost of one log-density and gradient evaluation relative to the hand-written "
            "model.\n",
            _table(
                [
                    "model",
                    "form",
                    "min ESS",
                    "speed-up",
                    "ESS per 1000 gradients",
                    "divergences",
                    "gradient cost",
                ],
                rows,
            ),
        ]
    )


def _quickstart(d: dict) -> str:
    import statistics

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in d["rows"]:
        groups.setdefault((r["variant"], r["form"]), []).append(r)
    rows = []
    for (variant, form), rs in groups.items():
        div = [r["divergences"] for r in rs]
        rows.append(
            [
                variant,
                form.replace("original", "as written").replace("auxified", "after auxify"),
                _int(len(rs)),
                _int(sum(x > 0 for x in div)),
                f"{statistics.median(div):g} ({min(div)}-{max(div)})",
                _int(statistics.median(r["min_ess_bulk"] for r in rs)),
            ]
        )
    st = d["settings"]
    return "\n".join(
        [
            "### The quick start, as a user runs it\n",
            f"Eight schools with `pm.sample`'s defaults ({st['chains']} chains), once per random "
            'seed, as written and after `auxify(model)` with its default centering (`"auto"`: '
            "theta rewritten, mu and tau standardized: the same model as the pure rewrite).\n",
            _table(
                [
                    "sampler, settings",
                    "form",
                    "runs",
                    "runs with divergences",
                    "divergences: median (range)",
                    "min ESS (median)",
                ],
                rows,
            ),
        ]
    )


_LAM = re.compile(r"lam = r/\(1\+r\) = (.*)$")


def _lams(why: dict) -> str:
    """``{"tau": "... lam = r/(1+r) = 0"}`` -> ``"tau 0, ..."``, runs of equal values merged."""
    items = []
    for name, text in why.items():
        m = _LAM.search(text)
        lam = m.group(1) if m else "?"
        lam = re.sub(r"\[(.*?)\] \(median (.*?)\)", r"\1 (median \2)", lam)
        lam = re.sub(r"(\d\.\d\d)\d+", r"\1", lam)
        if items and items[-1][1] == lam:
            items[-1][0].append(name)
        else:
            items.append(([name], lam))
    parts = []
    for names, lam in items:
        shown = names if len(names) <= 3 else [names[0], "...", names[-1]]
        parts.append(", ".join(f"`{n}`" if n != "..." else n for n in shown) + f": {lam}")
    return "; ".join(parts)


def _centering(d: dict) -> str:
    forms = ("centered", "auxiliary", "auto", "hand")
    rows, chose = [], []
    for r in d["rows"]:
        epg = {f: 1000 * r[f]["ess_per_grad"] for f in forms}
        best_fixed = max(epg["centered"], epg["auxiliary"])
        rows.append(
            [r["model"].replace("_", " ")]
            + [_num(epg[f]) for f in forms]
            + [
                _ratio(epg["auto"] / best_fixed),
                " / ".join(_int(r[f]["divergences"]) for f in forms[:3]),
            ]
        )
        if isinstance(r.get("why"), dict):
            chose.append(f"- **{r['model'].replace('_', ' ')}**: {_lams(r['why'])}")
    out = [
        "### Automatic centering\n",
        '`centering="auto"` against the two fixed forms and a form chosen by hand (for the '
        '"mixed" model: data-rich groups centered, the others auxiliary; elsewhere the better '
        "fixed form). ESS per 1000 gradient evaluations, higher is better.\n",
        _table(
            [
                "model",
                "centered",
                "auxiliary",
                "auto",
                "by hand",
                "auto / best fixed",
                "divergences (c / a / auto)",
            ],
            rows,
        ),
    ]
    if chose:
        out += [
            "What `auto` chose, as the centering weight λ per variable (0 = auxiliary form, "
            "1 = centered, in between = partially centered):\n",
            "\n".join(chose) + "\n",
        ]
    return "\n".join(out)


def _em(d: dict) -> str:
    g = d["digits"]
    out = [
        "### Stochastic EM: generative model of digits\n",
        "A 2-dimensional latent per image and an MLP decoder, minibatches of 100 images, the "
        "E-step by NUTS in auxiliary form. Held-out log-likelihood per image (higher is better).\n",
        _table(
            [
                "EM iterations",
                "ms per iteration",
                "of which E-step",
                "gradients per iteration",
                "held-out log p(x) before",
                "after",
            ],
            [
                [
                    _int(g["n_iter"]),
                    _num(g["iter_ms"]),
                    _num(g["e_step_ms"]),
                    _int(g["grad_evals_per_iter"]),
                    f"{g['heldout_before'][0]:.2f}",
                    f"{g['heldout_after'][0]:.2f}",
                ]
            ],
        ),
        "### Stochastic EM: deep Bayes net\n",
        f"The transition weights $W_z, b_z$ of the deep Bayes net ({_DBN_SIZE}), learned from "
        f"zeros by EM for {d['settings'].get('dbn_budget_s', 60)} s in each form; $\\log p(x)$ of "
        "the training sequence by prior Monte Carlo, ± its standard error.\n",
        _table(
            [
                "weights",
                "EM iterations",
                "ms per iteration",
                "log p(x) ± se",
                "RMSE of W_z to the true weights",
            ],
            [
                [
                    name.replace("original", "learned, as written").replace(
                        "auxiliary", "learned, auxiliary form"
                    ),
                    _int(r.get("iterations")),
                    _num(r.get("iter_ms")),
                    f"{r['log_px']:.2f} ± {r['log_px_se']:.2f}",
                    _num(r.get("W_z_rmse_to_true"), 2),
                ]
                for name, r in d["dbn"].items()
            ],
        ),
    ]
    dbn = d["dbn"]
    learned = [r["log_px"] for k, r in dbn.items() if "iterations" in r]
    if "true weights" in dbn and learned and max(learned) > dbn["true weights"]["log_px"] + 3:
        out.append(_DBN_EXPLAINED)
    return "\n".join(out)


_DBN_SIZE = "T = 20 steps, a 10-dimensional latent state, one binary observation per step"

_DBN_EXPLAINED = """
**Why the learned weights beat the true ones on $\\log p(x)$ but are further from them:
overfitting.** The benchmark learns 110 numbers ($W_z$ is 10 × 10, $b_z$ has 10) from a *single*
sequence of 20 binary observations, that is 20 bits of data. Guessing each bit by a coin flip
gives $\\log p(x) = 20 \\log \\tfrac12 = -13.86$, and the true weights do no better on this
sequence (−13.95): the process they describe makes any particular sequence of 20 bits unlikely.
EM maximizes the likelihood of the one sequence it is given, and with 110 free numbers it finds a
nearly deterministic path that reproduces those 20 bits. The estimate is sound: its standard
errors are 0.01 to 0.04 and hundreds to thousands of prior draws carry weight. A check on new
data confirms it: weights learned the same way (40 s of EM in auxiliary form, −2.4 on the
training sequence) score −20.6, −22.7 and −10.8 on three new sequences drawn from the true
weights, worse than a coin flip, where the true weights score −10.7, −13.9 and −11.4. And 20
bits cannot pin down 100 weights, so the RMSE to the true $W_z$ is not a measure of success
either. What this table does show is the cost of an EM iteration in each form and that EM climbs
the likelihood faster in auxiliary form; a test of learning needs many training sequences and a
held-out log-likelihood.
"""


def _generic(md: Path, here: Path) -> str:
    rel = os.path.relpath(md, here)
    return f"```{{include}} {rel}\n:heading-offset: 2\n```\n"


SUMMARIES = {
    "quickstart": _quickstart,
    "core": _core,
    "coverage": _coverage,
    "centering": _centering,
    "em": _em,
}


def _date_of(d: dict) -> str | None:
    for src in (d, d.get("settings", {})):
        if isinstance(src, dict) and isinstance(src.get("date"), str):
            return src["date"][:10]
    return None


def results_markdown(results: Path, here: Path, root: Path) -> str:
    """Markdown for every results file in ``results`` (paths relative to the page in ``here``)."""
    stems = {p.stem for p in results.glob("*.md")} | {p.stem for p in results.glob("*.json")}
    stems = {s for s in stems if not s.endswith("_quick")}  # smoke-test runs
    if not stems:
        return "No results yet: run `make bench` and rebuild the documentation.\n"
    rank = {name: i for i, name in enumerate(ORDER)}
    parts, dates = [], set()
    for stem in sorted(stems, key=lambda s: (rank.get(s, len(rank)), s)):
        js, md = results / f"{stem}.json", results / f"{stem}.md"
        text = None
        data = None
        if js.is_file():
            try:
                data = json.loads(js.read_text())
            except ValueError:
                data = None
        if isinstance(data, dict):
            dates.add(_date_of(data))
            if stem in SUMMARIES:
                try:
                    text = SUMMARIES[stem](data)
                except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
                    text = None  # layout changed: show the file as it is
        if text is None and md.is_file():
            text = _generic(md, here)
        if text is None:
            continue
        link = md if md.is_file() else js
        text += f"\n*All columns: `{link.relative_to(root)}`.*\n"
        parts.append(text)
    dates.discard(None)
    when = ""
    if dates:
        span = min(dates) if len(dates) == 1 else f"{min(dates)} to {max(dates)}"
        when = f"Measured {span}. "
    head = (
        f"{when}Every table comes from a script in `benchmarks/` run on a shared machine with 2 "
        "CPU cores: seconds are noisy, so compare within a table, and prefer ESS per gradient "
        "evaluation, which does not depend on the machine's load.\n"
    )
    return head + "\n" + "\n".join(parts)
