"""The pilot's lean Python-thunk linker computes exactly what PyTensor's PerformLinker does."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st
from pytensor.compile.mode import Mode
from pytensor.tensor.basic import tensor_copy

from pymc_auxform import choose_centering
from pymc_auxform._linker import LeanPerformLinker, lean_function
from pymc_auxform.reference_models import radon_style

PLAIN = Mode(linker="py", optimizer="merge")
LEAN = Mode(linker=LeanPerformLinker(), optimizer="merge")

_UNARY = [pt.exp, pt.log, pt.log1p, pt.sqrt, pt.neg, pt.abs, pt.tanh, pt.sigmoid, pt.sqr]
_BINARY = [pt.add, pt.sub, pt.mul, pt.true_div, pt.pow, pt.maximum, pt.gt, pt.ge, pt.eq]


def _same(a, b) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)  # NaN in the same places counts as equal


def _graph(choices, inputs):
    """An expression built from ``choices`` (a list of ints) over ``inputs``: unary and binary
    elementwise ops (ufunc-backed and not), sums and products of three terms (one node, as
    gradients accumulate them), broadcast fills (``second``), copies and casts, broadcasting
    rows, columns and scalars, a switch and a sum, so that some nodes get lean thunks and some
    keep their perform."""
    pool = list(inputs)
    for c in choices:
        a = pool[c % len(pool)]
        b = pool[(c // 7) % len(pool)]
        kind = c % 8
        if kind == 0:
            new = _UNARY[c % len(_UNARY)](a)
        elif kind in (1, 2):
            new = _BINARY[(c // 3) % len(_BINARY)](a, b)
        elif kind == 3:
            new = pt.switch(pt.gt(a, 0), a, b)
        elif kind == 4:
            new = a + pt.sum(b)
        elif kind == 5:
            d = pool[(c // 49) % len(pool)]
            new = (pt.add if c % 2 else pt.mul)(a, b, d)
        elif kind == 6:
            new = pt.second(a, b)
        else:
            new = [tensor_copy(a), pt.cast(a, "float32"), pt.cast(a, "int64")][(c // 8) % 3]
        pool.append(pt.cast(new, "float64") if new.dtype != "float64" else new)
    return pool[len(inputs) :]


@settings(max_examples=30, deadline=None)
@given(
    choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=25),
    seed=st.integers(0, 2**16),
)
def test_random_elementwise_graphs_match_perform_linker(choices, seed):
    matrix, row, col = pt.matrix("m"), pt.row("r"), pt.col("c")
    scalar, ints = pt.scalar("s"), pt.lvector("i")
    outputs = _graph(choices, [matrix, row, col, scalar, pt.cast(ints, "float64")[None, :]])
    rng = np.random.default_rng(seed)
    values = [
        rng.normal(size=(3, 4)),
        rng.normal(size=(1, 4)),
        rng.normal(size=(3, 1)),
        np.asarray(rng.normal()),
        rng.integers(-3, 4, size=4),
    ]
    inputs = [matrix, row, col, scalar, ints]
    plain = pytensor.function(inputs, outputs, mode=PLAIN, on_unused_input="ignore")
    lean = pytensor.function(inputs, outputs, mode=LEAN, on_unused_input="ignore")
    for a, b in zip(plain(*values), lean(*values), strict=True):
        _same(a, b)


@settings(max_examples=30, deadline=None)
@given(
    choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=25),
    seed=st.integers(0, 2**16),
)
def test_lean_function_matches_pytensor_function(choices, seed):
    """The pilot's compiled function without ``pytensor.function`` around it (no copy of the
    graph, no Function): the same outputs, and fresh arrays on every call."""
    matrix, row, scalar = pt.matrix("m"), pt.row("r"), pt.scalar("s")
    shared = pytensor.shared(np.arange(4.0)[None, :], shape=(1, 4))
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=(3, 4)), rng.normal(size=(1, 4)), np.asarray(rng.normal())]

    def build():  # lean_function rewrites its graph in place: each function gets its own
        return _graph(choices, [matrix, row, scalar, shared])

    inputs = [matrix, row, scalar]
    plain = pytensor.function(inputs, build(), mode=PLAIN, on_unused_input="ignore")
    lean = lean_function(inputs, build())
    first = lean(*values)
    for a, b in zip(plain(*values), first, strict=True):
        _same(a, b)
    kept = [np.array(x, copy=True) for x in first]
    shared.set_value(shared.get_value() * 2)  # read when called, not when compiled
    for a, b in zip(plain(*values), lean(*values), strict=True):
        _same(a, b)
    for a, b in zip(kept, first, strict=True):
        _same(a, b)  # the first call's arrays were not refilled by the second


def test_lean_function_copies_outputs_it_does_not_compute():
    x = pt.vector("x")
    c = pt.constant(np.array([1.0, 2.0]))
    fn = lean_function([x], [x, c, x * 2, x * 2])
    a = np.array([3.0, 4.0])
    out = fn(a)
    assert out[0] is not a and out[1] is not c.data and out[2] is not out[3]
    out[0][0] = out[1][0] = out[2][0] = -1.0
    _same(fn(a)[0], [3.0, 4.0])
    _same(fn(a)[1], [1.0, 2.0])
    _same(fn(a)[3], [6.0, 8.0])


def test_lean_thunks_are_used_and_errors_stay_silent():
    x = pt.vector("x")
    out = pt.log(x) * 2 + pt.exp(x)  # log of a negative number: NaN, no warning
    fn = pytensor.function([x], out, mode=LEAN)
    assert fn.vm.lean_nodes >= 3  # log, mul, exp, add: not left to Elemwise.perform
    with np.errstate(all="raise"):
        value = fn(np.array([-1.0, 1.0]))
    assert np.isnan(value[0]) and value[1] == pytest.approx(np.e)


def test_nodes_without_a_ufunc_skip_the_scalar_loop():
    """``second``, sums of three terms, copies and casts: Elemwise.perform runs their scalar code
    once per element; the lean linker must not."""
    x, y, z = pt.vector("x"), pt.scalar("y"), pt.vector("z")
    outs = [pt.second(x, y), pt.add(x, z, x), pt.mul(x, z, z), tensor_copy(x), pt.cast(x, "int64")]
    fn = pytensor.function([x, y, z], outs, mode=LEAN)
    assert fn.vm.lean_nodes == len(outs)
    a, c = np.array([1.5, -2.0, 3.0]), np.array([0.5, 2.0, -1.0])
    plain = pytensor.function([x, y, z], outs, mode=PLAIN)
    for p, q in zip(plain(a, 2.0, c), fn(a, 2.0, c), strict=True):
        _same(p, q)


def test_switches_scipy_ufuncs_and_integer_first_inputs_are_lean():
    """What the T=10 DBN's pilot left to Elemwise.perform (a third of its nodes' calls): switches
    (``numpy.where``) over mixed dtypes and integer conditions, ``sigmoid`` (SciPy's ``expit``),
    and ufuncs whose first input is an integer (perform computes them in the output's dtype: its
    ``sig``). The same numbers, to the bit, without the scalar loop or the checks."""
    x, y32, cond = pt.vector("x"), pt.fvector("y"), pt.lvector("k")
    one = pt.constant(np.int8(1))
    outs = [
        pt.switch(pt.gt(x, 0), y32, x),  # bool, float32, float64
        pt.switch(cond, x, y32),  # int64 condition
        pt.switch(cond, y32, y32),  # float32 out
        pt.sigmoid(x),
        pt.sub(one, x),  # int8 first: perform's "dd->d" signature
        pt.add(pt.constant(np.int8(3)), y32),  # int8 first, float32 out
        pt.add(x),  # a sum of one term (the scalar code, per element, in perform)
        pt.mul(y32),
    ]
    fn = pytensor.function([x, y32, cond], outs, mode=LEAN)
    nodes = [n for n in fn.maker.fgraph.apply_nodes if n.op.__class__.__name__ == "Elemwise"]
    assert fn.vm.lean_nodes == len(nodes)
    plain = pytensor.function([x, y32, cond], outs, mode=PLAIN)
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.normal(size=6) * 40, [np.inf, -np.inf, np.nan, 0.0]])
    b = rng.normal(size=10).astype("float32")
    k = rng.integers(-1, 2, size=10)
    for p, q in zip(plain(a, b, k), fn(a, b, k), strict=True):
        _same(p, q)


def test_integer_and_boolean_outputs_keep_their_dtypes():
    i, j = pt.lvector("i"), pt.lvector("j")
    outs = [i + j, i * 2, pt.true_div(i, j), pt.gt(i, j), i // j]
    a, b = np.array([1, -4, 7]), np.array([2, 3, -2])
    plain = pytensor.function([i, j], outs, mode=PLAIN)
    lean = pytensor.function([i, j], outs, mode=LEAN)
    for p, q in zip(plain(a, b), lean(a, b), strict=True):
        _same(p, q)


def test_the_choice_is_the_same_with_pytensors_own_linker():
    model = radon_style("both", 600, 20, seed=3)
    lean = choose_centering(model)  # the default mode: the lean linker
    plain = choose_centering(model, mode=PLAIN)
    assert lean.gradient_calls == plain.gradient_calls and lean.hvp_calls == plain.hvp_calls
    for name in plain.lam:
        np.testing.assert_allclose(lean.lam[name], plain.lam[name], rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            lean.decisions[name].likelihood_info, plain.decisions[name].likelihood_info, rtol=1e-12
        )


def test_pilot_mode_uses_the_lean_linker():
    from pymc_auxform._linker import pilot_mode

    assert isinstance(pilot_mode().linker, LeanPerformLinker)
