"""The report travels with the model it describes: PyMC's transforms, pickling, and JSON."""

import cloudpickle
import numpy as np
import pymc as pm
import pytensor
import pytest

from pymc.model.transform.optimization import freeze_dims_and_data

from pymc_auxform import auxify, report
from pymc_auxform.reference_models import eight_schools
from pymc_auxform.reporting import AuxformInfo, AuxReport

NOISE = ["mu_eps", "tau_eps", "theta_eps"]


@pytest.fixture(scope="module")
def aux():
    return auxify(eight_schools(), centering=0.0)


@pytest.mark.parametrize(
    "transform",
    [
        lambda m: pm.do(m, {"mu": 1.0}),
        freeze_dims_and_data,
        lambda m: cloudpickle.loads(cloudpickle.dumps(m)),
        lambda m: pm.observe(pm.do(m, {"tau": 2.0}), {}),
    ],
    ids=["do", "freeze_dims_and_data", "cloudpickle", "do+observe"],
)
def test_report_survives_model_transforms(aux, transform):
    new = transform(aux)
    assert new is not aux
    rep = report(new)
    assert rep.all_noise_names == NOISE
    assert [r.form for r in rep.rewritten] == ["affine", "scale", "affine"]


def test_report_round_trips_through_json(aux):
    rep = report(aux)
    back = AuxReport.from_json(rep.to_json())
    assert back.rewritten == rep.rewritten and back.left == rep.left


def test_report_is_data(aux):
    table = report(aux).to_dataframe()
    assert list(table.index) == ["mu", "tau", "theta"]
    assert table.loc["theta", "noise"] == "theta_eps"
    assert table.loc["tau", "distribution"] == "HalfCauchy"
    assert table["lam_max"].dtype == float and (table["lam_max"] == 0).all()
    partial = report(auxify(eight_schools(), centering={"theta": 0.25})).to_dataframe()
    assert partial.loc["theta", "lam_min"] == 0.25 and partial.loc["mu", "lam_min"] == 0
    assert "<table" in report(aux)._repr_html_()
    assert "theta_eps" in str(report(aux))


def test_report_from_model_context(aux):
    with aux:
        assert report().all_noise_names == NOISE


def test_plain_model_has_no_report():
    with pytest.raises(ValueError, match="not made by pymc_auxform.auxify"):
        report(eight_schools())
    with pytest.raises(TypeError, match="pymc.Model or a trace"):
        report("eight_schools")


def test_auxify_of_auxified_model_says_so(aux):
    with pytest.raises(ValueError, match="already made by auxify"):
        auxify(aux)


def test_compiled_functions_drop_the_report_node(aux):
    fn = pytensor.function(aux.value_vars, aux.logp(), mode="FAST_RUN")
    assert not any(isinstance(n.op, AuxformInfo) for n in fn.maker.fgraph.apply_nodes)
    # it is still in the model's graph, where it is an identity with a gradient
    assert isinstance(aux["theta"].owner.op, AuxformInfo)
    oracle = eight_schools(noncentered=True)
    order = [oracle[rv.name] for rv in aux.free_RVs]
    point = aux.initial_point()
    np.testing.assert_allclose(
        aux.compile_dlogp()(point), oracle.compile_dlogp(vars=order)(point), rtol=1e-10
    )


def test_check_bounds_is_kept():
    with pm.Model(check_bounds=False) as m:
        mu = pm.Normal("mu")
        pm.Normal("z", mu, 2.0, shape=3)
    assert auxify(m, centering=0.0).check_bounds is False
