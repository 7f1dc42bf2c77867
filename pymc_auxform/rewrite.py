"""The one-pass graph rewrite: a model's free variables into auxiliary form.

This is the layer below the user API: :func:`rewrite_model` takes already validated options
(which variables, which centering ``lam``) and returns the new model with its report. It chooses
nothing; :func:`~pymc_auxform.auxify` and the automatic centering choice both sit above it.
"""

from __future__ import annotations

import warnings

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.distributions.transforms import _default_transform
from pymc.logprob.abstract import MeasurableOp, ValuedRV, _logprob
from pymc.logprob.rewriting import early_measurable_ir_rewrites_db
from pymc.model.fgraph import ModelFreeRV, model_deterministic, model_free_rv
from pymc.util import get_transformed_name
from pytensor.graph.basic import Variable, equal_computations
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.graph.rewriting.utils import rewrite_graph

from pymc_auxform._fgraph import ModelGraph, graph_from_model, model_from_graph, output_order
from pymc_auxform._initvals import initvals_removed, restore_initvals
from pymc_auxform._util import dist_name, eval_quick, is_discrete, is_one_lam, is_zero_lam
from pymc_auxform.forms import AuxParts, FormNotApplicable, get_form
from pymc_auxform.forms.checks import guard_noise, parameter_checks
from pymc_auxform.reporting import AuxformInfo, AuxReport, Left, Rewritten, attach_report


class _ObservedRewritten(MeasurableOp, AuxformInfo):
    """A rewritten variable that ``pm.observe`` made observed: it has no density to give."""


@_logprob.register(_ObservedRewritten)
def _observed_rewritten_logp(op, values, *inputs, **kwargs):
    name = op.name
    raise ValueError(
        f"{name!r} was rewritten by auxify ({name} = g({name}_eps)) and cannot be observed in "
        f"the auxiliary model: observe the original model (pm.observe(model, {{{name!r}: ...}})),"
        " then auxify it."
    )


@node_rewriter([AuxformInfo])
def _find_observed_rewritten(fgraph, node):
    """Mark a rewritten variable that is observed, so that its logp raises a clear error."""
    if isinstance(node.op, _ObservedRewritten):
        return None
    if any(isinstance(client.op, ValuedRV) for client, _ in fgraph.clients[node.outputs[0]]):
        return [_ObservedRewritten(node.op.name)(node.inputs[0])]
    return None


early_measurable_ir_rewrites_db.register("auxform_observed", _find_observed_rewritten, "basic")


def noise_name(name: str, suffix: str = "eps") -> str:
    """The name the noise of variable ``name`` gets: ``f"{name}_{suffix}"``.

    On a clash with any name already in the model (variables, value variables, dims),
    ``_1``, ``_2``, ... is appended and ``auxify`` warns.
    """
    return f"{name}_{suffix}"


@dataclass
class RewriteContext:
    """What the one-pass rewrite threads through: its options and what it has done so far."""

    wanted: set[str] | None
    excluded: set[str]
    lams: dict[str, float | np.ndarray]
    taken: set[str]
    why: dict[str, str] = field(default_factory=dict)
    check_bounds: bool = True
    check_lam_shapes: bool = True
    report: AuxReport = field(default_factory=AuxReport)


def rewrite_model(
    model: pm.Model,
    *,
    var_names: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    lams: Mapping[str, float | np.ndarray] | None = None,
    why: Mapping[str, str] | None = None,
    check_lam_shapes: bool = True,
) -> tuple[pm.Model, AuxReport]:
    """Rewrite the free variables of ``model`` in auxiliary form; return the new model and report.

    Options are taken as validated (see :func:`resolve_names` and :func:`parse_centering`).
    ``var_names=None`` rewrites every variable that has a form and leaves the others with the
    reason; with ``var_names`` a variable that cannot be rewritten is an error. ``lams`` maps a
    name to its centering (default 0, the full auxiliary form); ``why`` maps a name to a line
    that explains its centering (shown in the report). ``check_lam_shapes=False``: the arrays
    of ``lams`` are known to have their variables' shapes (the automatic choice's, read off
    the model's initial point); checking evaluates each shape (5 ms a variable on radon-style
    models).
    """
    with initvals_removed(model) as initvals:
        fgraph, _ = graph_from_model(model)  # PyMC's fgraph_from_model, in linear time
    ctx = RewriteContext(
        wanted=None if var_names is None else set(var_names),
        excluded=set(exclude),
        lams=dict(lams or {}),
        taken=set(model.named_vars) | {v.name for v in model.value_vars} | set(model.coords),
        why=dict(why or {}),
        check_bounds=model.check_bounds,
        check_lam_shapes=check_lam_shapes,
    )
    # Creation tracebacks of the new nodes cost more than the rewrite itself on large models.
    with pytensor.config.change_flags(traceback__limit=0):
        fgraph = _rewrite_all(fgraph, ctx)
    new_model = model_from_graph(fgraph, order=list(model.named_vars))  # noise in z's place
    new_model.check_bounds = model.check_bounds
    order = {rv.name: i for i, rv in enumerate(model.free_RVs)}  # report in model order
    ctx.report.rewritten.sort(key=lambda r: order[r.name])
    ctx.report.left.sort(key=lambda r: order[r.name])
    attach_report(new_model, ctx.report)
    if initvals:
        restore_initvals(new_model, initvals, ctx.report)
    return new_model, ctx.report


def _rewrite_all(fgraph: ModelGraph, ctx: RewriteContext) -> ModelGraph:
    """Rebuild the model graph in one topological pass, rewriting every wanted free variable.

    Nodes downstream of a rewritten variable are cloned onto the new inputs (``memo``); nothing
    is replaced in place, so the cost grows linearly with the size of the model.
    """
    memo: dict = {}
    for node in output_order(fgraph.outputs):  # in model order: noise name clashes too
        inputs = [memo.get(i, i) for i in node.inputs]
        if isinstance(node.op, ModelFreeRV):
            det = _rewrite_one(node, inputs[0], ctx)
            if det is not None:
                memo[node.outputs[0]] = det
                continue
        if any(new is not old for new, old in zip(inputs, node.inputs)):
            new_node = node.clone_with_new_inputs(inputs)
            memo.update(zip(node.outputs, new_node.outputs))
    return fgraph.with_outputs([memo.get(o, o) for o in fgraph.outputs])


def _rewrite_one(node, rv, ctx: RewriteContext):
    """The Deterministic that replaces one free variable, or None if it is left as it is."""
    name = node.op.name
    dist = dist_name(rv)
    why = ctx.why.get(name, "")
    if name in ctx.excluded or (ctx.wanted is not None and name not in ctx.wanted):
        if name in ctx.excluded:
            ctx.report.left.append(Left(name, dist, "excluded by the user", why))
        return None
    lam = ctx.lams.get(name, 0.0)
    try:
        parts, form = _plan(
            node, rv, lam, check_bounds=ctx.check_bounds, check_lam_shape=ctx.check_lam_shapes
        )
    except FormNotApplicable as err:
        if ctx.wanted is not None and not is_one_lam(lam):
            raise ValueError(f"Variable {name!r} ({dist}) cannot be rewritten: {err}.") from None
        ctx.report.left.append(Left(name, dist, str(err), why))
        return None
    det, rewritten = _apply(node, rv, parts, form, lam, ctx)
    ctx.report.rewritten.append(rewritten)
    return det


def _plan(node, rv, lam, *, check_bounds: bool = True, check_lam_shape: bool = True):
    """Pick the form of a free variable ``rv`` and build its parts (raise FormNotApplicable).

    With ``check_bounds`` the parts keep the original's parameter checks (see
    :mod:`pymc_auxform.forms.checks`).
    """
    if is_discrete(rv):
        raise FormNotApplicable("discrete variables have no auxiliary form")
    form = get_form(rv.owner.op)
    if form is None:
        raise FormNotApplicable(f"no auxiliary form is registered for {dist_name(rv)}")
    _check_transform(node, rv)
    if is_one_lam(lam):
        raise FormNotApplicable("kept centered (centering lam = 1)")
    if not is_zero_lam(lam) and not form.supports_partial:
        raise FormNotApplicable(f"the {form.kind} form has no partial centering (lam = {lam})")
    if np.ndim(lam) > 0 and check_lam_shape:
        _check_lam_shape(node.op.name, lam, rv)
    parts = form.rewrite(rv, lam=lam)
    if check_bounds:
        parts = _keep_checks(rv, parts, form)
    return parts, form


def _check_transform(node, rv) -> None:
    """Refuse a user-chosen value transform (compared by value, not by type): it would be dropped."""
    default = _default_transform(rv.owner.op, rv)
    transform = node.op.transform
    if transform is None and default is None:
        return
    if transform is not None and default is not None and type(transform) is type(default):
        x = rv.type()
        inputs = rv.owner.inputs
        if equal_computations([transform.forward(x, *inputs)], [default.forward(x, *inputs)]):
            return
    what = type(transform).__name__ if transform is not None else "no transform"
    raise FormNotApplicable(
        f"it has a user-chosen value transform ({what}) that may restrict its support and "
        "that the rewrite would drop; exclude it or remove the transform"
    )


_FINITE_KINDS = (
    "affine",
    "scale",
    "log-affine",
    "logit-affine",
)  # forward maps finite at invalid parameters


def _keep_checks(rv, parts: AuxParts, form) -> AuxParts:
    """Put the original's parameter checks into the first noise's density (and keep z finite)."""
    cond, msg = parameter_checks(rv)
    if cond is None:
        return parts
    first = parts.noises[0]
    guarded = guard_noise(first.rv, cond)
    if guarded is None:
        raise FormNotApplicable(
            f"its parameter checks ({msg}) cannot be kept in the density of its noise "
            f"({dist_name(first.rv)})"
        )
    forward = parts.forward
    if form.kind not in _FINITE_KINDS:
        # where the parameters are invalid the map may be NaN: -inf + NaN would be NaN

        def forward(*noises, _f=parts.forward):
            z = _f(*noises)
            return pt.switch(cond, z, pt.zeros_like(z))

    noises = [replace(first, rv=guarded), *parts.noises[1:]]
    return replace(parts, noises=noises, forward=forward)


def _check_lam_shape(name, lam, rv) -> None:
    """Per-element centering must broadcast to the variable's shape without changing it."""
    shape = rv.type.shape
    if any(s is None for s in shape):
        try:
            found = rewrite_graph(pt.as_tensor(rv.shape), include=("ShapeOpt", "canonicalize"))
            shape = tuple(int(s) for s in eval_quick(found))
        except Exception:  # shape only known at run time: PyTensor checks it then
            return
    try:
        ok = np.broadcast_shapes(np.shape(lam), shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"centering[{name!r}] has shape {np.shape(lam)}, which does not broadcast to the "
            f"shape {tuple(shape)} of {name!r}; give a scalar or an array of that shape."
        )


def _apply(node, rv, parts, form, lam, ctx: RewriteContext) -> tuple[Variable, Rewritten]:
    """Build the noise variables and the Deterministic that take the place of ``node``."""
    name, dims = node.op.name, node.op.dims
    noise_vars, noise_names, notes = [], [], []
    for noise in parts.noises:
        wanted_name = noise_name(name, noise.suffix)
        free_name = _free_name(wanted_name, ctx.taken)
        if free_name != wanted_name:
            notes.append(f"{wanted_name!r} was taken")
            warnings.warn(
                f"auxify: the noise of {name!r} is named {free_name!r} because "
                f"{wanted_name!r} is already a name in the model.",
                UserWarning,
                stacklevel=4,
            )
        eps = noise.rv
        eps.name = free_name
        transform = _default_transform(eps.owner.op, eps)
        if transform is None:
            value = eps.type()
        else:
            value = transform.forward(eps, *eps.owner.inputs).type()
        value.name = get_transformed_name(free_name, transform) if transform else free_name
        ctx.taken.add(value.name)
        noise_dims = noise.dims if noise.dims is not None else _same_dims(dims, eps, rv)
        noise_vars.append(model_free_rv(eps, value, transform, free_name, *noise_dims))
        noise_names.append(free_name)

    z = AuxformInfo(name)(_as_type(parts.forward(*noise_vars), rv))
    z.name = name
    form_name = "partial" if parts.detail == "partial" else form.kind
    rewritten = Rewritten(
        name,
        tuple(noise_names),
        form_name,
        dist_name(rv),
        _lam_text(lam),
        note="; ".join(notes),
        why=ctx.why.get(name, ""),
        lam_min=float(np.min(lam)),
        lam_max=float(np.max(lam)),
    )
    return model_deterministic(z, name, *dims), rewritten


def _as_type(z, rv):
    """Cast/shape ``z`` to the type of the variable it replaces."""
    if z.dtype != rv.dtype:
        z = pt.cast(z, rv.dtype)
    if z.type.ndim != rv.type.ndim:
        raise RuntimeError(
            f"form produced ndim {z.type.ndim} for {rv.name!r} (ndim {rv.type.ndim})"
        )
    if not rv.type.is_super(z.type):
        z = pt.specify_shape(z, rv.type.shape)
    return z


def _same_dims(dims, eps, rv):
    return dims if dims and eps.type.ndim == rv.type.ndim else ()


def _free_name(name: str, taken: set[str]) -> str:
    candidate, k = name, 0
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    taken.add(candidate)
    return candidate


def resolve_names(model: pm.Model, names, arg: str) -> list[str]:
    """Validate names or variables given by the user; return names of free variables."""
    if isinstance(names, str | Variable):
        names = [names]
    if not isinstance(names, Iterable):
        raise TypeError(f"{arg} must be a name, a variable or a list of them, got {names!r}.")
    out = []
    for item in names:
        if isinstance(item, Variable):
            if item not in model.named_vars.values():
                raise ValueError(f"{arg}: variable {item} does not belong to this model.")
            item = item.name
        if not isinstance(item, str):
            raise TypeError(f"{arg} must hold names or model variables, got {item!r}.")
        if item not in model.named_vars:
            free = [rv.name for rv in model.free_RVs]
            raise ValueError(
                f"{arg}: {item!r} is not a variable of this model. Free variables: {free}."
            )
        var = model[item]
        if var in model.observed_RVs:
            raise ValueError(
                f"{arg}: {item!r} is observed; only free (latent) variables are rewritten. "
                "Remove it from the list."
            )
        if var not in model.free_RVs:
            kind = "a Deterministic" if var in model.deterministics else "not a random variable"
            raise ValueError(f"{arg}: {item!r} is {kind}; only free variables can be rewritten.")
        if arg == "var_names" and is_discrete(var):
            raise ValueError(
                f"var_names: {item!r} is discrete; discrete latents have no auxiliary form. "
                "Remove it from var_names."
            )
        out.append(item)
    return out


def parse_centering(centering, free_names) -> dict:
    """Validate a fixed centering (a number, or a dict of name to number or array)."""
    if isinstance(centering, Mapping):
        unknown = [k for k in centering if k not in free_names]
        if unknown:
            raise ValueError(f"centering: {unknown} are not free variables of the model.")
        lams = {k: np.asarray(v, dtype=float) for k, v in centering.items()}
    elif isinstance(centering, int | float | np.floating | np.integer):
        lams = {k: np.asarray(float(centering)) for k in free_names}
    else:
        raise TypeError(f"centering must be a float or a dict of name to float, got {centering!r}.")
    for k, lam in lams.items():
        if np.any(~np.isfinite(lam)) or np.any(lam < 0) or np.any(lam > 1):
            raise ValueError(f"centering[{k!r}] must lie in [0, 1], got {lam}.")
    return {k: (float(v) if v.ndim == 0 else v) for k, v in lams.items()}


def _lam_text(lam) -> str:
    lam = np.asarray(lam)
    if lam.ndim == 0:
        return f"{float(lam):g}"
    return f"per-element [{lam.min():g}..{lam.max():g}]"


__all__ = [
    "RewriteContext",
    "noise_name",
    "parse_centering",
    "resolve_names",
    "rewrite_model",
]
