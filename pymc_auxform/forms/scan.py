r"""Innovations form of a ``pm.CustomDist`` whose ``dist`` is a ``pytensor.scan`` of random steps.

A recurrent model written as a scan draws, at every step :math:`t`, a random variable
:math:`x_t \sim F(\mu_t, \sigma_t)` whose parameters depend on the carried state. The rewrite
replaces each such step draw, inside the scan's inner graph, by

.. math::

    x_t = \mu_t + \sigma_t\,\epsilon_t \quad(\text{loc-scale}),\qquad
    x_t = \sigma_t\,\epsilon_t \quad(\text{scale}),

where :math:`\epsilon_t` is a new *sequence* of the scan. The noises of all steps form one root
noise variable of shape ``(n_steps, *step_shape)`` (for the usual ``dist`` that returns the scan
output, exactly the shape and dims of the CustomDist), and the scan becomes a deterministic
recursion of it. Every random step must be of a family with a registered loc-scale or scale
form whose other parameters (e.g. StudentT's ``nu``) do not change over the steps.
"""

from __future__ import annotations

import dataclasses

import pytensor.tensor as pt

from pymc.distributions.custom import CustomSymbolicDistRV
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, clone_get_equiv
from pytensor.graph.rewriting.utils import rewrite_graph
from pytensor.graph.traversal import ancestors, applys_between
from pytensor.scan.op import Scan
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.random.type import RandomType
from pytensor.tensor.type_other import NoneTypeT

from pymc_auxform._util import dist_name, eval_quick
from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    LocScaleForm,
    Noise,
    ScaleForm,
    batch_shape,
    dist_params,
    get_form,
    register_form,
)


def replace_vars(outputs, mapping: dict):
    """Rebuild ``outputs`` with the variables in ``mapping`` replaced (the replacements are kept).

    Unlike ``clone_replace``, the graphs of the replacement variables are never cloned, so model
    variables can be substituted safely.

    Examples
    --------
    .. code-block:: python

        import pytensor.tensor as pt
        from pymc_auxform.forms.scan import replace_vars

        x, y = pt.dscalars("x", "y")
        (out,) = replace_vars([x + 1], {x: y})  # y + 1
    """
    outputs = list(outputs)
    if not mapping:
        return outputs
    equiv = clone_get_equiv(
        list(mapping), outputs, copy_inputs=False, copy_orphans=False, memo=dict(mapping)
    )
    return [equiv.get(o, o) for o in outputs]


@dataclasses.dataclass
class _StepNoise:
    """One random step of a scan: its replacement and the outer noise that feeds it."""

    inner_rv: object
    inner_eps: object
    value: object
    noise: object


def _inner_graph(op) -> tuple[list, list]:
    """Mutable copies of the inner inputs and outputs of an Op with an inner graph."""
    fgraph = op.fgraph.unfreeze() if hasattr(op, "fgraph") else None
    if fgraph is None:  # pragma: no cover - older PyTensor
        return list(op.inner_inputs), list(op.inner_outputs)
    return list(fgraph.inputs), list(fgraph.outputs)


def _is_random(node) -> bool:
    return isinstance(node.op, RandomVariable) or (
        isinstance(node.op, Scan) and _scan_has_rvs(node.op)
    )


def _scan_has_rvs(op: Scan) -> bool:
    inner_in, inner_out = _inner_graph(op)
    return any(_is_random(n) for n in applys_between(inner_in, inner_out))


def _step_templates(op: Scan, node, inner_in) -> dict:
    """Map inner inputs of a scan to outer variables with the shape of one step."""
    outer = node.inputs
    mapping = {}
    for i, o in zip(op.inner_seqs(inner_in), op.outer_seqs(outer), strict=True):
        mapping[i] = o[0]
    for taps, o in zip(op.inner_mitsot_grouped(inner_in), op.outer_mitsot(outer), strict=True):
        for i in taps:
            mapping[i] = o[0]
    for i, o in zip(op.inner_sitsot(inner_in), op.outer_sitsot(outer), strict=True):
        mapping[i] = o[0]
    for i, o in zip(op.inner_non_seqs(inner_in), op.outer_non_seqs(outer), strict=True):
        mapping[i] = o
    return mapping


def _to_outer(var, mapping, allowed, what):
    """Express an inner variable through outer ones; only inner inputs in ``allowed`` may be used."""
    if isinstance(var, Constant):
        return var
    used = {a for a in ancestors([var]) if a in mapping}
    if not used <= allowed:
        raise FormNotApplicable(what)
    return replace_vars([var], {k: mapping[k] for k in used})[0]


def _step_noise(rv_node, n_steps, templates, non_seqs) -> _StepNoise:
    """Standard noise of all steps of one random step of a scan, and its inner replacement."""
    inner_rv = rv_node.default_output()
    form = get_form(rv_node.op)
    name = dist_name(inner_rv)
    if not isinstance(form, LocScaleForm | ScaleForm):
        raise FormNotApplicable(
            f"its scan draws a {name} at every step, which has no loc-scale form"
        )
    params = dist_params(inner_rv)
    if isinstance(form, LocScaleForm):
        loc, scale, other = form.loc_scale(params)
    else:
        (scale, other), loc = form.shape_scale(params), None
    why = f"the shape parameters of its {name} steps change over the steps"
    other = tuple(_to_outer(p, templates, non_seqs, why) for p in other)
    step_shape = batch_shape(inner_rv)
    if isinstance(step_shape, tuple) and all(isinstance(s, int) for s in step_shape):
        size = (n_steps, *step_shape)
    else:
        step_shape = pt.as_tensor(step_shape, dtype="int64", ndim=1)
        outer_shape = _to_outer(step_shape, templates, set(templates), "")
        size = pt.concatenate([pt.atleast_1d(n_steps).astype("int64"), outer_shape])
        size = rewrite_graph(size, include=("ShapeOpt", "canonicalize"))
    if isinstance(form, LocScaleForm):
        noise = form.noise(0.0, 1.0, other, size)
    else:
        noise = form.noise(1.0, other, size)
    inner_eps = pt.tensor(dtype=noise.dtype, shape=noise.type.shape[1:])
    value = inner_eps * scale if loc is None else loc + scale * inner_eps
    return _StepNoise(inner_rv, inner_eps, pt.cast(value, inner_rv.dtype), noise)


def _plan_scan(node):
    """The noises of one scan node and a function building the deterministic scan from them."""
    op: Scan = node.op
    info = op.info
    if info.n_mit_mot or info.as_while:
        raise FormNotApplicable("its scan has a while condition or mit-mot taps")
    inner_in, inner_out = _inner_graph(op)
    untraced = op.inner_untraced_sit_sot(inner_in)
    if any(not isinstance(v.type, RandomType) for v in untraced):
        raise FormNotApplicable("its scan carries non-random untraced states")
    n_traced_out = info.n_mit_sot + info.n_sit_sot + info.n_nit_sot
    # only the draws that feed the traced outputs (the untraced ones carry random generators)
    inner_nodes = list(applys_between(inner_in, inner_out[:n_traced_out]))
    if any(isinstance(n.op, Scan) and _scan_has_rvs(n.op) for n in inner_nodes):
        raise FormNotApplicable("its scan nests another random scan")
    rv_nodes = [n for n in inner_nodes if isinstance(n.op, RandomVariable)]
    templates = _step_templates(op, node, inner_in)
    non_seqs = set(op.inner_non_seqs(inner_in))
    steps = [_step_noise(n, node.inputs[0], templates, non_seqs) for n in rv_nodes]

    traced_in = [v for v in inner_in if v not in untraced and v not in non_seqs]
    new_out = replace_vars(inner_out[:n_traced_out], {s.inner_rv: s.value for s in steps})
    if any(isinstance(n.op, RandomVariable) for n in applys_between(inner_in, new_out)):
        raise FormNotApplicable("its scan draws random variables that could not be replaced")
    new_in = [*(s.inner_eps for s in steps), *traced_in, *op.inner_non_seqs(inner_in)]
    new_info = dataclasses.replace(info, n_seqs=info.n_seqs + len(steps), n_untraced_sit_sot=0)
    new_op = Scan(
        new_in,
        new_out,
        new_info,
        mode=op.mode,
        truncate_gradient=op.truncate_gradient,
        name=op.name,
        profile=op.profile,
        allow_gc=op.allow_gc,
        strict=op.strict,
    )
    outer = node.inputs

    def build(*noises):
        new_outer_in = [
            outer[0],
            *noises,
            *op.outer_seqs(outer),
            *op.outer_mitsot(outer),
            *op.outer_sitsot(outer),
            *op.outer_nitsot(outer),
            *op.outer_non_seqs(outer),
        ]
        outs = new_op(*new_outer_in, return_list=True)
        return dict(zip(node.outputs[:n_traced_out], outs, strict=True))

    return [s.noise for s in steps], build


def _known_shape(shape) -> tuple[int, ...] | None:
    """Evaluate a shape graph that, after shape inference, depends only on constants and data."""
    shape = rewrite_graph(pt.as_tensor(shape, dtype="int64"), include=("ShapeOpt", "canonicalize"))
    roots = [v for v in ancestors([shape]) if v.owner is None]
    if any(not isinstance(v, Constant | SharedVariable) for v in roots):
        return None
    return tuple(int(d) for d in eval_quick(shape))


def _same_shape(noise, rv) -> bool:
    """Whether the noise has the shape of ``rv`` (the CustomDist's ``size`` when it was given)."""
    if noise.type.ndim != rv.type.ndim:
        return False
    size = rv.owner.op.size_param(rv.owner)
    target = rv.shape if size is None or isinstance(size.type, NoneTypeT) else size
    if len(tuple(target)) != rv.type.ndim:
        return False
    a, b = _known_shape(noise.shape), _known_shape(target)
    return a is not None and a == b


@register_form(CustomSymbolicDistRV)
class ScanForm(Form):
    r"""``pm.CustomDist`` built from a ``pytensor.scan`` of random steps, in innovations form.

    Each random step :math:`x_t \sim F(\mu_t, \sigma_t)` of the scan becomes
    :math:`x_t = \mu_t + \sigma_t\epsilon_t` with :math:`\epsilon_t` a new scan sequence; the
    noise of all steps is one root variable ``{name}_eps`` (``{name}_eps``, ``{name}_eps2``, ...
    for several random steps), and the CustomDist's value the output of the now deterministic scan.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        import pytensor
        from pymc.pytensorf import collect_default_updates
        from pymc_auxform import auxify


        def walk(z0, s, size):
            def step(z_prev, s):
                z = pm.Normal.dist(z_prev, s)
                return z, collect_default_updates([z])

            return pytensor.scan(step, outputs_info=[z0], non_sequences=[s], n_steps=20,
                                 strict=True, return_updates=True)[0]


        with pm.Model() as m:
            s = pm.HalfNormal("s")
            z = pm.CustomDist("z", 0.0, s, dist=walk, shape=20)

        aux = auxify(m, centering=0.0)  # z = scan of z_eps, z_eps ~ N(0, 1) with shape (20,)
    """

    summary = (
        "CustomDist of a scan: x_t = loc_t + scale_t * eps_t inside the scan, eps a root noise"
    )
    kind = "innovations"

    def rewrite(self, rv, lam=0.0):
        node = rv.owner
        op = node.op
        idx = node.outputs.index(rv)
        inner_in, inner_out = _inner_graph(op)
        value = replace_vars([inner_out[idx]], dict(zip(inner_in, node.inputs, strict=True)))[0]
        random = [n for n in applys_between(node.inputs, [value]) if _is_random(n)]
        if not random:
            raise FormNotApplicable("its CustomDist draws nothing at random")
        if any(not isinstance(n.op, Scan) for n in random):
            raise FormNotApplicable("its CustomDist draws random variables outside a scan")
        plans = [(n, *_plan_scan(n)) for n in random]
        noises = [noise for _, step_noises, _ in plans for noise in step_noises]
        counts = [len(step_noises) for _, step_noises, _ in plans]

        def forward(*eps):
            replace, start = {}, 0
            for (_, _, build), count in zip(plans, counts, strict=True):
                replace.update(build(*eps[start : start + count]))
                start += count
            (z,) = replace_vars([value], replace)
            return pt.cast(z, rv.dtype)

        probe = forward(*(n.type() for n in noises))
        if any(_is_random(n) for n in applys_between(node.inputs, [probe])):
            raise FormNotApplicable("its CustomDist still draws at random after the rewrite")
        suffixes = ["eps", *(f"eps{k}" for k in range(2, len(noises) + 1))]
        same = len(noises) == 1 and _same_shape(noises[0], rv)
        return AuxParts(
            [Noise(n, s, dims=None if same else ()) for n, s in zip(noises, suffixes, strict=True)],
            forward,
        )


__all__ = ["ScanForm", "replace_vars"]
