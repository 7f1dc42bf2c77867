"""Forms: how a random variable is rewritten in auxiliary form.

A *form* turns a latent ``z ~ p(z | pa)`` into noise ``eps ~ p(eps)`` (free of the parents when
possible) and a deterministic map ``z = g(pa, eps)`` with ``g(pa, eps)`` equal in distribution to
``p(z | pa)``. Forms are small classes (:class:`Form`, or :class:`LocScaleForm` and
:class:`ScaleForm` for location-scale and scale families), registered against the PyTensor ``Op``
type of the random variable they rewrite; the registry (:func:`register_form`, :func:`get_form`)
lives in :mod:`pymc_auxform.forms.registry` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pytensor.graph.basic import Variable
from pytensor.tensor import TensorVariable

from pymc_auxform._noise import standard_noise
from pymc_auxform._util import is_zero_lam
from pymc_auxform.forms.graph import (
    batch_shape,
    check_lam_shape,
    dist_params,
    is_constant_value,
    is_standard_normal,
    scale_powers,
)
from pymc_auxform.forms.registry import (
    get_form,
    register_fallback_form,
    register_form,
    register_named_form,
)


@dataclass
class Noise:
    """One noise variable of a rewrite.

    Parameters
    ----------
    rv : TensorVariable
        The noise random variable (built with ``pm.<Dist>.dist``).
    suffix : str
        Appended to the original name (``"{name}_{suffix}"``) to name the noise variable.
    dims : tuple of str or None
        Dims of the noise variable. ``None`` means "the original variable's dims" (valid when the
        noise has the same shape as the original variable).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms import Noise

        eps = Noise(pm.Normal.dist(size=3))  # named "{name}_eps", dims of the original
        raw = Noise(pm.Normal.dist(size=(2, 3)), suffix="raw", dims=("row", "col"))
    """

    rv: TensorVariable
    suffix: str = "eps"
    dims: tuple[str, ...] | None = None


@dataclass
class AuxParts:
    """What a form returns: the noise variables and the map back to the original variable.

    ``forward`` receives the noise variables (as they appear in the new model, in the order of
    ``noises``) and returns ``z``, which must have the type of the original variable.

    Parameters
    ----------
    noises : list of Noise
        The new free variables.
    forward : callable
        ``forward(*noise_vars) -> z``.
    detail : str
        ``"partial"`` for a partially centered rewrite (shown as the form in the report).
    extra : dict
        Anything else a form wants to pass on.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms import get_form

        z = pm.Normal.dist(1.0, 2.0, size=3)
        parts = get_form(z.owner.op).rewrite(z)
        [n.suffix for n in parts.noises]  # ['eps']
        x = parts.forward(*(n.rv for n in parts.noises))  # 1 + 2 * eps, same type as z
    """

    noises: list[Noise]
    forward: Callable[..., TensorVariable]
    detail: str = ""
    extra: dict = field(default_factory=dict)


class FormNotApplicable(Exception):
    """Raised by a form when it cannot rewrite one particular variable; the message says why.

    ``auxify`` then leaves the variable as it was and puts the message in the report.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms import FormNotApplicable, get_form

        z = pm.Normal.dist(0.0, 1.0)
        try:
            get_form(z.owner.op).rewrite(z)
        except FormNotApplicable as err:
            print(err)  # already standard (location 0, scale 1): nothing to rewrite
    """


class Form:
    """Base class of all forms.

    Subclasses set ``kind`` (shown in the report: ``"affine"``, ``"scale"``, ``"log-affine"``,
    ``"icdf"``, ``"multivariate"``, ``"innovations"``) and implement :meth:`rewrite`.
    ``supports_partial`` says whether a centering ``lam`` other than 0 and 1 is defined.
    For location-scale and scale families, subclass :class:`LocScaleForm` or
    :class:`ScaleForm` instead.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pytensor.tensor.random.basic import UniformRV
        from pymc_auxform import auxify, report
        from pymc_auxform.forms import AuxParts, Form, Noise, register_form
        from pymc_auxform.forms.base import batch_shape, dist_params


        @register_form(UniformRV)  # replaces the generic inverse-CDF form for Uniform
        class UniformForm(Form):
            kind = "affine"

            def rewrite(self, rv, lam=0.0):
                lower, upper = dist_params(rv)
                eps = pm.Uniform.dist(0.0, 1.0, size=batch_shape(rv))
                return AuxParts([Noise(eps)], lambda e: lower + (upper - lower) * e)


        with pm.Model() as model:
            hi = pm.HalfNormal("hi", 2.0)
            pm.Uniform("z", 0.0, hi, shape=3)

        # the pure rewrite shows the form: z: affine, z = hi * z_eps, z_eps ~ Uniform(0, 1)
        print(report(auxify(model, centering=0.0)))
    """

    kind: ClassVar[str] = "form"
    supports_partial: ClassVar[bool] = False
    summary: ClassVar[str] = ""
    """The map and the noise in one line (shown in the docs' table of forms)."""

    def rewrite(self, rv: TensorVariable, lam=0.0) -> AuxParts:
        """Return the noise variables and the forward map for ``rv`` (raise FormNotApplicable)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --- helpers shared by the forms -------------------------------------------------------------


class LocScaleForm(Form):
    r"""Affine form of a location-scale family.

    .. math::

        z \sim F(\mu, \sigma) \iff z = \mu + \sigma\,\epsilon,\quad \epsilon \sim F(0, 1).

    With partial centering ``lam`` (Gorinova, Moore & Hoffman, 2020):

    .. math::

        \eta \sim F(\lambda\mu, \sigma^\lambda),\qquad
        z = \mu + \sigma^{1-\lambda} (\eta - \lambda\mu),

    which is the auxiliary form at :math:`\lambda = 0` and the centered form at :math:`\lambda = 1`.
    A per-element :math:`\lambda` with few distinct values and a scalar :math:`\sigma` takes
    the powers on the distinct values only (:func:`~pymc_auxform.forms.graph.scale_powers`).
    Subclasses implement :meth:`loc_scale` (split the parameters) and :meth:`noise` (build the
    family from a location, a scale and the remaining shape parameters).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc.distributions.continuous import SkewNormalRV
        from pymc_auxform import auxify, report
        from pymc_auxform.forms import LocScaleForm, register_form


        @register_form(SkewNormalRV)
        class SkewNormalForm(LocScaleForm):
            def loc_scale(self, params):
                mu, sigma, alpha = params  # the Op's parameter order
                return mu, sigma, (alpha,)

            def noise(self, loc, scale, other, size):
                (alpha,) = other
                return pm.SkewNormal.dist(mu=loc, sigma=scale, alpha=alpha, size=size)


        with pm.Model() as model:
            mu = pm.Normal("mu", 0.0, 5.0)
            pm.SkewNormal("z", mu=mu, sigma=2.0, alpha=3.0, shape=4)

        # the pure rewrite: z = mu + 2 * z_eps, z_eps ~ SkewNormal(0, 1, 3)
        print(report(auxify(model, centering=0.0)))
    """

    kind = "affine"
    supports_partial = True

    def loc_scale(self, params: Sequence[Variable]) -> tuple[Variable, Variable, tuple]:
        """Return ``(loc, scale, other_params)`` from the Op's distribution parameters."""
        raise NotImplementedError

    def noise(self, loc, scale, other: tuple, size) -> TensorVariable:
        """Build the family with the given location, scale and other parameters."""
        raise NotImplementedError

    def rewrite(self, rv, lam=0.0):
        loc, scale, other = self.loc_scale(dist_params(rv))
        if is_constant_value(loc, 0) and is_constant_value(scale, 1):
            raise FormNotApplicable("already standard (location 0, scale 1): nothing to rewrite")
        size = batch_shape(rv)
        if is_zero_lam(lam):
            # built once per family, parameters and size, then copied: pm.<Dist>.dist is slow
            eps = standard_noise(lambda: self.noise(0.0, 1.0, other, size), type(self), other, size)
            return AuxParts([Noise(eps)], lambda e: loc + scale * e)
        lam_t, up, down = scale_powers(scale, lam, rv)
        eta = self.noise(*check_lam_shape(rv, lam, lam_t * loc, up), other, size)
        return AuxParts(
            [Noise(eta)], lambda e: (1 - lam_t * down) * loc + down * e, detail="partial"
        )


class ScaleForm(Form):
    r"""Scale form of a positive scale family.

    .. math::

        z \sim F(\alpha, s) \iff z = s\,\epsilon,\quad \epsilon \sim F(\alpha, 1).

    Partial centering uses powers of the scale: :math:`\eta \sim F(\alpha, s^\lambda)`,
    :math:`z = s^{1-\lambda}\,\eta` (on the distinct values of a per-element :math:`\lambda` only,
    for a scalar :math:`s`). Subclasses implement :meth:`shape_scale` and :meth:`noise`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pytensor.tensor.random.basic import ParetoRV
        from pymc_auxform import auxify, report
        from pymc_auxform.forms import ScaleForm, register_form


        @register_form(ParetoRV)  # replaces the generic inverse-CDF form for Pareto
        class ParetoForm(ScaleForm):
            def shape_scale(self, params):
                alpha, m = params
                return m, (alpha,)

            def noise(self, scale, other, size):
                (alpha,) = other
                return pm.Pareto.dist(alpha=alpha, m=scale, size=size)


        with pm.Model() as model:
            lo = pm.HalfNormal("lo", 2.0)
            pm.Pareto("z", alpha=3.0, m=lo)

        # the pure rewrite shows the form: z: scale, z = lo * z_eps, z_eps ~ Pareto(3, 1)
        print(report(auxify(model, centering=0.0)))
    """

    kind = "scale"
    supports_partial = True

    def shape_scale(self, params: Sequence[Variable]) -> tuple[Variable, tuple]:
        """Return ``(scale, other_params)`` from the Op's distribution parameters."""
        raise NotImplementedError

    def noise(self, scale, other: tuple, size) -> TensorVariable:
        """Build the family with the given scale and other parameters."""
        raise NotImplementedError

    def rewrite(self, rv, lam=0.0):
        scale, other = self.shape_scale(dist_params(rv))
        if is_constant_value(scale, 1):
            raise FormNotApplicable("already standard (scale 1): nothing to rewrite")
        size = batch_shape(rv)
        if is_zero_lam(lam):
            eps = standard_noise(lambda: self.noise(1.0, other, size), type(self), other, size)
            return AuxParts([Noise(eps)], lambda e: scale * e)
        _, up, down = scale_powers(scale, lam, rv)
        (checked,) = check_lam_shape(rv, lam, up)
        eta = self.noise(checked, other, size)
        return AuxParts([Noise(eta)], lambda e: down * e, detail="partial")


__all__ = [
    "AuxParts",
    "Form",
    "FormNotApplicable",
    "LocScaleForm",
    "Noise",
    "ScaleForm",
    "batch_shape",
    "dist_params",
    "get_form",
    "is_constant_value",
    "is_standard_normal",
    "register_fallback_form",
    "register_form",
    "register_named_form",
]
