r"""Innovations forms of random walks and autoregressions.

A recurrent latent is a deterministic recursion of its initial values and its innovations; in
auxiliary form both become root noise and the state is computed from them:

.. math::

    \text{RandomWalk:}\quad & z_0 = g_0(\epsilon_0),\quad z_t = z_{t-1} + g(\epsilon_t)
        \quad (\text{a cumulative sum}),\\
    \text{AR}(p)\text{:}\quad & z_{0:p} = g_0(\epsilon_{0:p}),\quad
        z_t = \rho_0 + \textstyle\sum_{i=1}^p \rho_i z_{t-i} + \sigma\epsilon_t
        \quad (\text{a scan}),

where :math:`g_0` and :math:`g` are the registered forms of the initial and innovation
distributions (e.g. :math:`g(\epsilon) = \mu + \sigma\epsilon` for Normal innovations, which covers
``GaussianRandomWalk``). When every noise is standard normal (the usual case) the noises are one
variable with the shape and dims of ``z`` (``z_eps[..., 0]`` for the initial value, the rest for the
innovations); otherwise there are two, ``z_init_eps`` and ``z_eps``.
"""

from __future__ import annotations

import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.distributions.timeseries import AutoRegressiveRV, RandomWalkRV
from pytensor.graph.basic import Constant
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.type import RandomType

from pymc_auxform._util import dist_name, static_shape
from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    Noise,
    batch_shape,
    dist_params,
    get_form,
    is_standard_normal,
    register_form,
)


def _is_fixed(rv) -> bool:
    """Whether ``rv`` depends on nothing but constants (and its random generator)."""
    return all(
        isinstance(v, Constant) or isinstance(v.type, RandomType)
        for v in ancestors(dist_params(rv))
        if v.owner is None
    )


def component_parts(rv, what: str) -> AuxParts:
    """Auxiliary parts of a component distribution (initial value or innovations) of a recursion.

    A component that is already standard (its form does not apply and its parameters are
    constants) is its own noise.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms.recurrent import component_parts

        parts = component_parts(pm.Normal.dist(1.0, 2.0, size=5), "innovation")
    """
    op = rv.owner.op
    if op.ndim_supp != 0:
        raise FormNotApplicable(f"its {what} distribution is multivariate, which is not supported")
    form = get_form(op)
    name = dist_name(rv)
    if form is None:
        raise FormNotApplicable(f"its {what} distribution ({name}) has no auxiliary form")
    try:
        parts = form.rewrite(rv)
    except FormNotApplicable as err:
        if _is_fixed(rv):
            return AuxParts([Noise(rv)], lambda e: e)
        raise FormNotApplicable(f"its {what} distribution cannot be rewritten: {err}") from None
    if len(parts.noises) != 1:
        raise FormNotApplicable(f"its {what} distribution needs several noises")
    return parts


def _shape_vector(shape):
    return pt.as_tensor(shape, dtype="int64", ndim=1) if isinstance(shape, tuple) else shape


def _full_shape(rv, batch_and_first, extra):
    """Static shape of ``rv`` if known, else ``batch_and_first`` with ``extra`` added on the last axis."""
    shape = static_shape(rv)
    if shape is not None:
        return shape
    vec = _shape_vector(batch_and_first)
    return pt.concatenate([vec[:-1], [vec[-1] + extra]])


def _time_first(e):
    return pt.moveaxis(e, -1, 0)


def _time_last(e):
    return pt.moveaxis(e, 0, -1)


@register_form(RandomWalkRV)
class RandomWalkForm(Form):
    r"""``RandomWalk`` / ``GaussianRandomWalk`` in innovations form: a cumulative sum of noise.

    .. math::

        z_{\ldots, 0} = g_0(\epsilon_{\ldots, 0}),\qquad
        z_{\ldots, t} = z_{\ldots, t-1} + g(\epsilon_{\ldots, t}).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s")
            z = pm.GaussianRandomWalk("z", sigma=s, init_dist=pm.Normal.dist(0, 1), steps=50)

        aux = auxify(m, centering=0.0)  # z = cumsum([z_eps[0], s * z_eps[1:]])
    """

    summary = "z = cumsum([g0(eps_0), g(eps_1..T)]) (g0, g: forms of init_dist and innovations)"
    kind = "innovations"

    def rewrite(self, rv, lam=0.0):
        init, innov, steps = dist_params(rv)
        init_parts = component_parts(init, "initial")
        innov_parts = component_parts(innov, "innovation")

        def walk(init_noise, innov_noise):
            first = _time_last(init_parts.forward(init_noise))
            rest = _time_last(innov_parts.forward(innov_noise))
            return pt.cumsum(pt.concatenate([first, rest], axis=-1), axis=-1)

        if is_standard_normal(init_parts.noises[0].rv) and is_standard_normal(
            innov_parts.noises[0].rv
        ):
            shape = _full_shape(rv, _rw_init_shape(init), steps)
            eps = pm.Normal.dist(size=shape)
            return AuxParts(
                [Noise(eps)],
                lambda e: walk(_time_first(e[..., :1]), _time_first(e[..., 1:])),
            )
        return AuxParts(
            [
                Noise(init_parts.noises[0].rv, "init_eps", dims=()),
                Noise(innov_parts.noises[0].rv, "eps", dims=()),
            ],
            walk,
        )


def _rw_init_shape(init):
    """``(*batch, 1)`` from the initial distribution of shape ``(1, *batch)``."""
    shape = batch_shape(init)
    if isinstance(shape, tuple):
        return (*shape[1:], 1)
    return pt.concatenate([shape[1:], [1]])


def ar_recursion(init_vals, innov_eps, rhos, sigma, *, ar_order: int, constant_term: bool):
    r"""The AR(p) state from its initial values ``(..., p)`` and standard innovations ``(..., T)``.

    :math:`z_t = \rho_0 + \sum_i \rho_i z_{t-i} + \sigma\epsilon_t` (``rho_0`` only with
    ``constant_term``), as one ``pytensor.scan`` over time; returns ``(..., p + T)``.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        from pymc_auxform.forms.recurrent import ar_recursion

        z = ar_recursion(
            np.zeros(1), np.ones(5), np.array([0.5]), 1.0, ar_order=1, constant_term=False
        )
    """
    init_vals = pt.as_tensor(init_vals)
    innov_eps = pt.as_tensor(innov_eps)
    batch = tuple(innov_eps.shape)[:-1]
    init_vals = pt.broadcast_to(init_vals, (*batch, init_vals.shape[-1]))
    rhos = pt.as_tensor(rhos)
    rhos = pt.broadcast_to(rhos, (*batch, rhos.shape[-1]))
    sigma = pt.broadcast_to(pt.as_tensor(sigma), batch)

    def step(e_t, *args):
        *prev_xs, reversed_rhos, sigma_t = args
        if constant_term:
            mu = reversed_rhos[-1] + pt.sum(prev_xs * reversed_rhos[:-1], axis=0)
        else:
            mu = pt.sum(prev_xs * reversed_rhos, axis=0)
        return mu + sigma_t * e_t

    states = pytensor.scan(
        fn=step,
        sequences=[innov_eps.T],
        outputs_info=[{"initial": init_vals.T, "taps": range(-ar_order, 0)}],
        non_sequences=[rhos.T[::-1], sigma.T],
        strict=True,
        return_updates=False,
    )
    return pt.concatenate([init_vals, states.T], axis=-1)


@register_form(AutoRegressiveRV)
class ARForm(Form):
    r"""``AR`` with Normal innovations in innovations form.

    .. math::

        z_{\ldots, :p} = g_0(\epsilon_{\ldots, :p}),\qquad
        z_{\ldots, t} = \rho_0 + \sum_{i=1}^p \rho_i z_{\ldots, t-i} + \sigma\epsilon_{\ldots, t}.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            rho = pm.Uniform("rho", -1, 1)
            s = pm.HalfNormal("s")
            z = pm.AR("z", rho=[rho], sigma=s, init_dist=pm.Normal.dist(0, 1), steps=100)

        aux = auxify(m, centering=0.0)  # z is a scan of z_eps
    """

    summary = "z_t = rho_0 + sum_i rho_i z_{t-i} + sigma * eps_t (a scan), eps ~ Normal(0, 1)"
    kind = "innovations"

    def rewrite(self, rv, lam=0.0):
        op = rv.owner.op
        rhos, sigma, init, steps = dist_params(rv)
        order, constant = op.ar_order, op.constant_term
        init_parts = component_parts(init, "initial")

        def recursion(init_noise, innov_noise):
            return ar_recursion(
                init_parts.forward(init_noise),
                innov_noise,
                rhos,
                sigma,
                ar_order=order,
                constant_term=constant,
            )

        init_shape = batch_shape(init)
        if is_standard_normal(init_parts.noises[0].rv):
            eps = pm.Normal.dist(size=_full_shape(rv, init_shape, steps))
            return AuxParts([Noise(eps)], lambda e: recursion(e[..., :order], e[..., order:]))
        innov = pm.Normal.dist(size=_innov_shape(init_shape, steps))
        return AuxParts(
            [Noise(init_parts.noises[0].rv, "init_eps", dims=()), Noise(innov, "eps", dims=())],
            recursion,
        )


def _innov_shape(init_shape, steps):
    vec = _shape_vector(init_shape)
    return pt.concatenate([vec[:-1], pt.as_tensor([steps], dtype="int64")])


__all__ = ["ARForm", "RandomWalkForm", "ar_recursion", "component_parts"]
