"""centering="auto" without needless work: no second rewrite when every lam is 0, no pilot for
variables with no data below them, and the same model and report as the long way."""

import importlib
import inspect

import numpy as np
import pymc as pm
import pytest

import pymc_auxform.centering as centering_module

from pymc_auxform import auxify, choose_centering, report
from pymc_auxform._pilot import Pilot
from pymc_auxform.centering import _choose_with_model
from pymc_auxform.centering_result import CenteringChoice
from pymc_auxform.reference_models import dbn, funnel
from pymc_auxform.reporting import _info_ops
from pymc_auxform.rewrite import rewrite_model

auxify_module = importlib.import_module("pymc_auxform.auxify")  # the name is the function


def _count_rewrites(monkeypatch) -> list:
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("lams"))
        return rewrite_model(*args, **kwargs)

    monkeypatch.setattr(centering_module, "rewrite_model", counted)
    monkeypatch.setattr(auxify_module, "rewrite_model", counted)
    return calls


def _no_pilot(monkeypatch) -> None:
    def refuse(self, *args, **kwargs):
        raise AssertionError("the pilot was built")

    monkeypatch.setattr(Pilot, "__init__", refuse)


def _assert_same_model(a: pm.Model, b: pm.Model) -> None:
    assert list(a.named_vars) == list(b.named_vars)
    assert a.named_vars_to_dims == b.named_vars_to_dims
    assert {k: tuple(v) for k, v in a.coords.items()} == {k: tuple(v) for k, v in b.coords.items()}
    assert [v.name for v in a.deterministics] == [v.name for v in b.deterministics]
    assert [v.name for v in a.value_vars] == [v.name for v in b.value_vars]
    logp_a, logp_b = a.compile_logp(), b.compile_logp()
    rng = np.random.default_rng(0)
    start = a.initial_point(0)
    for _ in range(5):
        point = {k: v + rng.normal(size=np.shape(v)) for k, v in start.items()}
        assert logp_a(point) == logp_b(point)


def test_all_zero_choice_is_the_pure_rewrite_built_once(monkeypatch):
    model = dbn(steps=4, latent_dim=3)  # no root with constant parameters: every lam is 0
    calls = _count_rewrites(monkeypatch)
    auto = auxify(model)
    assert len(calls) == 1  # the pilot's rewrite, returned as it is
    rep = report(auto)
    assert isinstance(rep.centering, CenteringChoice)
    assert all(lam == 0.0 for lam in rep.centering.lam.values())
    _assert_same_model(auto, auxify(model, centering=0.0))
    whys = {r.name: r.why for r in rep.rewritten}
    assert whys == {name: d.why() for name, d in rep.centering.decisions.items()}
    assert all("info ratio r" in w for w in whys.values()) and "why (centering='auto')" in str(rep)
    attached = {op.report_json for op in _info_ops(auto)}  # what a trace of it will carry
    assert len(attached) == 1 and "info ratio r" in attached.pop()


def test_partial_choice_is_rewritten_with_its_lams(monkeypatch):
    group = np.repeat(np.arange(4), [200, 200, 1, 1])
    y = np.random.default_rng(1).normal(group * 0.5, 1.0)
    with pm.Model(coords={"g": np.arange(4)}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 1.0)
        alpha = pm.Normal("alpha", mu, tau, dims="g")
        pm.Normal("y", alpha[group], 1.0, observed=y)
    calls = _count_rewrites(monkeypatch)
    auto = auxify(model)
    lams = report(auto).centering.lam
    assert np.ndim(lams["alpha"]) == 1 and np.max(lams["alpha"]) > 0
    assert len(calls) == 2 and calls[1] is not None  # the pilot's, then the chosen one
    _assert_same_model(auto, auxify(model, centering=lams))


def test_no_data_below_decides_without_a_pilot(monkeypatch):
    _no_pilot(monkeypatch)
    choice = choose_centering(funnel())
    x = choice.decisions["x"]
    assert x.lam == 0.0 and "no data below it" in x.why() and "r = 0" in x.why()
    assert choice.iterations == 0 and choice.hvp_calls == 0
    assert "no data below it" in report(auxify(funnel())).to_dataframe().loc["x", "why"]


@pytest.mark.parametrize("below", ["observed", "potential", "latent"])
def test_anything_below_a_variable_needs_the_pilot(monkeypatch, below):
    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        x = pm.Normal("x", 0.0, pm.math.exp(v / 2))
        if below == "observed":
            pm.Normal("y", x, 1.0, observed=[0.3])
        elif below == "potential":
            pm.Potential("p", -(x**2))
        else:  # a latent left as written (no form) whose density reads x
            pm.Wald("w", mu=pm.math.exp(x), lam=1.0)
    _no_pilot(monkeypatch)
    with pytest.raises(AssertionError, match="the pilot was built"):
        choose_centering(model)


def test_private_chooser_has_the_public_defaults():
    public = inspect.signature(choose_centering).parameters
    private = inspect.signature(_choose_with_model).parameters
    assert [(p.name, p.default) for p in public.values()] == [
        (p.name, p.default) for p in private.values()
    ]
