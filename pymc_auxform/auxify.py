"""``auxify``: rewrite a PyMC model in auxiliary (non-centered) form."""

from __future__ import annotations

import warnings

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.distributions.transforms import _default_transform
from pymc.model.fgraph import (
    ModelFreeRV,
    fgraph_from_model,
    model_deterministic,
    model_free_rv,
    model_from_fgraph,
)
from pymc.util import get_transformed_name
from pytensor.graph.basic import Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.utils import rewrite_graph

from pymc_auxform.forms import FormNotApplicable, get_form
from pymc_auxform.report import AuxReport, Left, Rewritten, attach_report

NOISE_SUFFIX = "eps"
"""Noise variables are named ``f"{name}_{suffix}"`` (``suffix`` is ``"eps"`` unless a form needs
several noises); on a clash with any existing name ``_1``, ``_2``, ... is appended."""

VarLike = str | Variable


def auxify(
    model: pm.Model,
    var_names: VarLike | Sequence[VarLike] | None = None,
    *,
    exclude: VarLike | Sequence[VarLike] | None = None,
    centering: float | Mapping[str, float | np.ndarray] | str = 0.0,
) -> pm.Model:
    r"""Rewrite a model's continuous latent variables in auxiliary form (Kingma, 2013).

    Each free variable :math:`z \sim p(z \mid \mathrm{pa})` that has a registered form becomes a
    Deterministic :math:`z = g(\mathrm{pa}, \epsilon)` of a new free noise variable
    :math:`\epsilon` (loc-scale: :math:`z = \mu + \sigma\epsilon`). The joint distribution of the
    original variables is unchanged, but gradient-based samplers (NUTS, HMC) mix much faster on
    :math:`\epsilon` for hierarchical, deep and recurrent models.

    Parameters
    ----------
    model : pm.Model
        The model to rewrite. It is not modified.
    var_names : str, Variable or sequence of them, optional
        Rewrite only these free variables. Each must exist, be a continuous free variable and
        have a form, else a ``ValueError`` says why. By default every free continuous variable
        with a form is rewritten and the others are left as they are (see :func:`report`).
    exclude : str, Variable or sequence of them, optional
        Never rewrite these.
    centering : float or dict of name to float or array, default 0.0
        Partial centering :math:`\lambda \in [0, 1]` (Gorinova, Moore & Hoffman, 2020) for the
        forms that define it: 0 is the full auxiliary form, 1 leaves the variable centered.
        A float applies to all rewritten variables; a dict gives a value per variable (others
        get 0), scalar or one per element (broadcast against the variable's shape).
        ``"auto"`` chooses it per variable and per element from the data
        (:func:`~pymc_auxform.choose_centering`); the report then says why, with the numbers.

    Returns
    -------
    pm.Model
        A new model. Every original variable keeps its name and dims (free variables that were
        rewritten become Deterministics); each rewritten variable ``x`` gets a noise variable named
        ``x_eps`` with the same dims (``x_eps_1``, ... if that name is taken). What was rewritten,
        by which form, and what was left and why: ``pymc_auxform.report(new_model)``.

    Raises
    ------
    TypeError
        If ``model`` is not a ``pm.Model``.
    ValueError
        If a name is unknown, or names a variable that cannot be rewritten (observed, discrete,
        Deterministic, no form for its distribution), or ``centering`` is out of range.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import auxify, report

        y = np.array([28, 8, -3, 7, -1, 1, 18, 12])
        sigma = np.array([15, 10, 16, 11, 9, 11, 10, 18])
        with pm.Model(coords={"school": np.arange(8)}) as centered:
            mu = pm.Normal("mu", 0, 5)
            tau = pm.HalfCauchy("tau", 5)
            theta = pm.Normal("theta", mu, tau, dims="school")
            pm.Normal("y", theta, sigma, observed=y, dims="school")

        aux = auxify(centered)
        print(report(aux))
        with aux:
            idata = pm.sample(random_seed=1)  # posterior has mu, tau, theta (+ *_eps)
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"auxify expects a pymc.Model, got {type(model).__name__}.")

    free_names = [rv.name for rv in model.free_RVs]
    wanted = None if var_names is None else _resolve(model, var_names, "var_names")
    excluded = set() if exclude is None else set(_resolve(model, exclude, "exclude"))
    if wanted is not None:
        both = sorted(set(wanted) & excluded)
        if both:
            raise ValueError(f"{both} are both in var_names and in exclude; keep them in one.")
    choice = None
    if isinstance(centering, str):
        if centering != "auto":
            raise ValueError(f"centering must be a number, a dict or 'auto', got {centering!r}.")
        from pymc_auxform.centering import choose_centering

        choice = choose_centering(model, var_names=wanted, exclude=sorted(excluded) or None)
        centering = choice.lam
        if wanted is not None:  # variables chosen centered are left (and reported), not errors
            wanted = [n for n in wanted if not np.all(np.asarray(centering.get(n, 0.0)) == 1)]
    lams = _parse_centering(centering, free_names)

    try:
        fgraph, _ = fgraph_from_model(model)
    except NotImplementedError as err:
        custom = [rv.name for rv, v in model.rvs_to_initial_values.items() if v is not None]
        raise ValueError(
            f"auxify cannot rewrite a model with custom initial values (variables {custom}). "
            "Remove `initval=` from those variables; pass initial points to pm.sample instead."
        ) from err

    taken = set(model.named_vars) | {v.name for v in model.value_vars}
    report = AuxReport()
    # Creation tracebacks of the new nodes cost more than the rewrite itself on large models.
    with pytensor.config.change_flags(traceback__limit=0):
        fgraph = _rewrite_all(fgraph, wanted, excluded, lams, taken, report)

    new_model = model_from_fgraph(fgraph, mutate_fgraph=True)
    order = {rv.name: i for i, rv in enumerate(model.free_RVs)}  # report in model order
    report.rewritten.sort(key=lambda r: order[r.name])
    report.left.sort(key=lambda r: order[r.name])
    if choice is not None:
        report = choice.annotate(report)
    attach_report(new_model, report)
    return new_model


def _rewrite_all(fgraph, wanted, excluded, lams, taken, report) -> FunctionGraph:
    """Rebuild the model graph in one topological pass, rewriting every wanted free variable.

    Nodes downstream of a rewritten variable are cloned onto the new inputs (``memo``); nothing
    is replaced in place, so the cost grows linearly with the size of the model.
    """
    memo: dict = {}
    for node in fgraph.toposort():
        inputs = [memo.get(i, i) for i in node.inputs]
        if isinstance(node.op, ModelFreeRV):
            det = _rewrite_one(node, inputs[0], wanted, excluded, lams, taken, report)
            if det is not None:
                memo[node.outputs[0]] = det
                continue
        if any(new is not old for new, old in zip(inputs, node.inputs)):
            new_node = node.clone_with_new_inputs(inputs)
            memo.update(zip(node.outputs, new_node.outputs))
    new_fgraph = FunctionGraph(outputs=[memo.get(o, o) for o in fgraph.outputs], clone=False)
    new_fgraph._coords = fgraph._coords
    new_fgraph._dim_lengths = fgraph._dim_lengths
    return new_fgraph


def _rewrite_one(node, rv, wanted, excluded, lams, taken, report):
    """The Deterministic that replaces one free variable, or None if it is left as it is."""
    name = node.op.name
    dist = _dist_name(rv)
    if name in excluded or (wanted is not None and name not in wanted):
        if name in excluded:
            report.left.append(Left(name, dist, "excluded by the user"))
        return None
    lam = lams.get(name, 0.0)
    try:
        parts, form = _plan(node, rv, lam)
    except FormNotApplicable as err:
        if wanted is not None:
            raise ValueError(f"Variable {name!r} ({dist}) cannot be rewritten: {err}.") from None
        report.left.append(Left(name, dist, str(err)))
        return None
    det, rewritten = _apply(node, rv, parts, form, lam, taken, dist)
    report.rewritten.append(rewritten)
    return det


def _plan(node, rv, lam):
    """Pick the form of a free variable ``rv`` and build its parts (raise FormNotApplicable)."""
    if rv.type.dtype.startswith(("int", "uint", "bool")):
        raise FormNotApplicable("discrete variables have no auxiliary form")
    form = get_form(rv.owner.op)
    if form is None:
        raise FormNotApplicable(f"no auxiliary form is registered for {type(rv.owner.op).__name__}")
    default = _default_transform(rv.owner.op, rv)
    transform = node.op.transform
    if type(transform) is not type(default):
        raise FormNotApplicable(
            f"it has a user-chosen value transform ({type(transform).__name__}) that the "
            "rewrite would drop; exclude it or remove the transform"
        )
    if np.all(np.asarray(lam) == 1):
        raise FormNotApplicable("kept centered (centering lam = 1)")
    if not np.all(np.asarray(lam) == 0) and not form.supports_partial:
        raise FormNotApplicable(f"the {form.kind} form has no partial centering (lam = {lam})")
    if np.ndim(lam) > 0:
        _check_lam_shape(node.op.name, lam, rv)
    return form.rewrite(rv, lam=lam), form


def _check_lam_shape(name, lam, rv) -> None:
    """Per-element centering must broadcast to the variable's shape without changing it."""
    shape = rv.type.shape
    if any(s is None for s in shape):
        try:
            found = rewrite_graph(pt.as_tensor(rv.shape), include=("ShapeOpt", "canonicalize"))
            shape = tuple(int(s) for s in found.eval())
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


def _apply(node, rv, parts, form, lam, taken, dist) -> tuple[Variable, Rewritten]:
    """Build the noise variables and the Deterministic that take the place of ``node``."""
    name, dims = node.op.name, node.op.dims
    noise_vars, noise_names, notes = [], [], []
    for noise in parts.noises:
        wanted_name = f"{name}_{noise.suffix}"
        noise_name = _free_name(wanted_name, taken)
        if noise_name != wanted_name:
            notes.append(f"{wanted_name!r} was taken")
            warnings.warn(
                f"auxify: the noise of {name!r} is named {noise_name!r} because "
                f"{wanted_name!r} is already a name in the model.",
                UserWarning,
                stacklevel=3,
            )
        eps = noise.rv
        eps.name = noise_name
        transform = _default_transform(eps.owner.op, eps)
        if transform is None:
            value = eps.type()
        else:
            value = transform.forward(eps, *eps.owner.inputs).type()
        value.name = get_transformed_name(noise_name, transform) if transform else noise_name
        taken.add(value.name)
        noise_dims = noise.dims if noise.dims is not None else _same_dims(dims, eps, rv)
        noise_vars.append(model_free_rv(eps, value, transform, noise_name, *noise_dims))
        noise_names.append(noise_name)

    z = parts.forward(*noise_vars)
    z = _as_type(z, rv)
    z.name = name
    form_name = "partial" if parts.detail == "partial" else form.kind
    rewritten = Rewritten(
        name, tuple(noise_names), form_name, dist, _lam_text(lam), note="; ".join(notes)
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


def _dist_name(rv) -> str:
    op = rv.owner.op
    printed = getattr(op, "_print_name", None)
    return printed[0] if printed else type(op).__name__


def _resolve(model: pm.Model, names, arg: str) -> list[str]:
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
        if arg == "var_names" and var.type.dtype.startswith(("int", "uint", "bool")):
            raise ValueError(
                f"var_names: {item!r} is discrete; discrete latents have no auxiliary form. "
                "Remove it from var_names."
            )
        out.append(item)
    return out


def _parse_centering(centering, free_names) -> dict:
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


__all__ = ["NOISE_SUFFIX", "auxify"]
