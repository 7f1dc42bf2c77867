"""Which dim a model factorizes over ("one latent block per data point"), found and checked.

A dim qualifies when every free and observed variable has it, no Potential exists, and the log
density of point ``n`` depends on the values at point ``n`` only. The last condition is checked
numerically: at a random point, the values of a few single points are moved and the per-point log
densities must change at those points alone (a latent coupled along the dim, e.g. an
``MvNormal`` over it or a recursion, moves the others too).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor

from pymc_auxform._draws import vectorize_over_draws


def dim_axis(model: pm.Model, name: str, dim: str) -> int:
    dims = model.named_vars_to_dims.get(name, ())
    if dim not in (dims or ()):
        raise ValueError(
            f"independent_dim: {name!r} has dims {dims}, without {dim!r}. Every free and observed "
            f"variable must have the dim {dim!r} (no global latents, no Potentials)."
        )
    return list(dims).index(dim)


def reduce_to_dim(model, rv, term, dim):
    """Sum a log-density term over every axis but ``dim`` (or all axes when ``dim`` is None)."""
    if dim is None:
        return term.sum()
    axis = dim_axis(model, rv.name, dim)
    if axis >= term.ndim:
        raise ValueError(
            f"independent_dim: {dim!r} of {rv.name!r} is a core (event) axis of its distribution "
            "(e.g. an MvNormal over it): the points are coupled along it."
        )
    others = [a for a in range(term.ndim) if a != axis]
    return term.sum(axis=others) if others else term


def pointwise_fn(model, rvs, values, dim, mode=None):
    """Compile the log density of ``rvs`` at S draws of ``values``: (S,) or, per point, (S, N)."""
    terms = model.logp(vars=rvs, sum=False)
    reduced = [reduce_to_dim(model, rv, t, dim) for rv, t in zip(rvs, terms, strict=True)]
    inputs, (out,) = vectorize_over_draws([sum(reduced)], values)
    return pytensor.function(inputs, out, mode=mode)


def candidate_dims(model: pm.Model) -> list[str]:
    """Dims that every free and observed variable has (none with a Potential)."""
    if model.potentials:
        return []
    named = [model.named_vars_to_dims.get(rv.name) or () for rv in model.basic_RVs]
    common = set(named[0]) if named else set()
    for dims in named[1:]:
        common &= set(dims)
    return [d for d in named[0] if d in common] if named else []


def coupling(model: pm.Model, dim: str, rng: np.random.Generator, n_probe: int = 3) -> str | None:
    """``None`` if the model factorizes over ``dim``; else a sentence saying how it is coupled."""
    values = model.continuous_value_vars + model.discrete_value_vars
    rvs = model.basic_RVs
    try:
        fn = pointwise_fn(model, rvs, values, dim, mode="FAST_COMPILE")  # a few calls only
    except ValueError as err:
        return str(err)
    point = model.initial_point()
    base = {v.name: point[v.name] + rng.normal(0, 0.3, np.shape(point[v.name])) for v in values}
    for v in model.discrete_value_vars:
        base[v.name] = point[v.name]
    axes = {v.name: dim_axis(model, model.values_to_rvs[v].name, dim) for v in values}
    n = np.shape(base[values[0].name])[axes[values[0].name]]
    if n < 2:
        return f"{dim!r} has length {n}."
    f0 = fn(*[base[v.name][None] for v in values])[0]
    probes = sorted({0, n - 1, int(rng.integers(n))})[:n_probe]
    for j in probes:
        moved = {}
        for v in model.continuous_value_vars:
            a = base[v.name].copy()
            idx = [slice(None)] * a.ndim
            idx[axes[v.name]] = j
            a[tuple(idx)] += rng.normal(0, 0.5, a[tuple(idx)].shape)
            moved[v.name] = a
        moved = {**base, **moved}
        f1 = fn(*[moved[v.name][None] for v in values])[0]
        changed = np.flatnonzero(~np.isclose(f0, f1, rtol=1e-9, atol=1e-9))
        others = changed[changed != j]
        if len(others):
            return (
                f"moving the latents of point {j} along {dim!r} changes the log density of "
                f"{len(others)} other point(s) (e.g. {others[:3].tolist()}): a latent or the "
                "likelihood couples the points"
            )
    return None


def find_independent_dim(model: pm.Model, dim: str | None, rng) -> str | None:
    """The dim to factorize over: ``dim`` checked, or the first qualifying one, or ``None``.

    ``dim=False`` means do not factorize. An explicit ``dim`` that does not qualify raises.
    """
    if dim is False:
        return None
    if dim is not None:
        for rv in model.basic_RVs:
            dim_axis(model, rv.name, dim)
        if model.potentials:
            raise ValueError(f"independent_dim={dim!r}: the model has Potentials, without dims.")
        why = coupling(model, dim, rng)
        if why is not None:
            raise ValueError(
                f"independent_dim={dim!r} does not factorize the model: {why}. Estimate the "
                "whole log p(x) at once (independent_dim=False; method='smc' suits coupled "
                "latents)."
            )
        return dim
    for d in candidate_dims(model):
        if coupling(model, d, rng) is None:
            return d
    return None


def latent_dim(work, dim) -> int:
    """Latent dimensions, per point of ``dim`` when given."""
    point = work.initial_point()
    total = sum(point[v.name].size for v in work.continuous_value_vars)
    return total // (len(work.coords[dim]) if dim is not None else 1)


__all__ = [
    "candidate_dims",
    "coupling",
    "dim_axis",
    "find_independent_dim",
    "latent_dim",
    "pointwise_fn",
]
