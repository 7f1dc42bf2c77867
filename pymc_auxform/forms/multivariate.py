r"""Multivariate forms: MvNormal, MvStudentT (Cholesky-affine) and ZeroSumNormal (scale).

.. math::

    z \sim N(\mu, \Sigma) &\iff z = \mu + L\epsilon,\quad \epsilon \sim N(0, I),\\
    z \sim t_\nu(\mu, \Sigma) &\iff z = \mu + L\epsilon,\quad \epsilon \sim t_\nu(0, I),\\
    z \sim \mathrm{ZSN}(\sigma) &\iff z = \sigma\epsilon,\quad \epsilon \sim \mathrm{ZSN}(1),

with :math:`L = \mathrm{chol}(\Sigma)` lower triangular. PyMC stores an MvNormal given by ``chol``
as ``cov = chol @ chol.mT`` with ``chol`` tagged lower triangular, and PyTensor's rewrites turn
``cholesky(chol @ chol.mT)`` back into ``chol`` in compiled graphs, so ``chol=`` costs no
factorization; ``tau=`` is stored as ``matrix_inverse(tau)`` and ``cov=`` is factorized once per
evaluation. Batch dimensions (of ``mu``, of the covariance, or from ``size``) are kept.
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from pymc.distributions.multivariate import MvStudentTRV, ZeroSumNormalRV
from pytensor.tensor.random.basic import MvNormalRV
from pytensor.tensor.type_other import NoneTypeT

from pymc_auxform._util import static_shape
from pymc_auxform.forms.base import (
    AuxParts,
    Form,
    FormNotApplicable,
    Noise,
    dist_params,
    is_constant_value,
    register_form,
)


def _batch_shape(rv, params):
    """Full shape of a one-core-dim ``rv`` from its size or the broadcast of its ``(mu, cov)``."""
    shape = static_shape(rv)
    if shape is not None:
        return shape
    size = rv.owner.op.size_param(rv.owner)
    mu, cov = params
    if size is not None and not isinstance(size.type, NoneTypeT):
        batch = tuple(size)
    else:
        batch = ()
    if not batch:
        batch = tuple(pt.broadcast_shape(mu[..., 0], cov[..., 0, 0], arrays_are_shapes=False))
    return (*batch, mu.shape[-1])


def chol_affine(mu, cov, eps):
    r""":math:`\mu + L\epsilon` with :math:`L = \mathrm{chol}(\Sigma)`, over any batch dimensions.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pytensor.tensor as pt
        from pymc_auxform.forms.multivariate import chol_affine

        z = chol_affine(np.zeros(2), np.eye(2), pt.dvector("eps"))
    """
    chol = pt.linalg.cholesky(cov, lower=True)
    eps = pt.as_tensor(eps)
    if chol.type.ndim == 2:  # one factor for all batch entries: a single matrix product
        return mu + pt.dot(eps, chol.T)
    return mu + pt.matmul(chol, eps[..., None])[..., 0]


@register_form(MvNormalRV)
class MvNormalForm(Form):
    r"""``MvNormal(mu, cov | chol | tau)``: :math:`z = \mu + L\epsilon`, :math:`\epsilon \sim N(0, I)`.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s")
            z = pm.MvNormal("z", mu=np.zeros(3), cov=s**2 * np.eye(3), shape=(4, 3))

        aux = auxify(m, centering=0.0)  # z = chol(cov) @ z_eps, z_eps ~ N(0, I) with shape (4, 3)
    """

    summary = "z = mu + chol(cov) @ eps, eps ~ Normal(0, I)"
    kind = "multivariate"

    def rewrite(self, rv, lam=0.0):
        mu, cov = dist_params(rv)
        eps = pm.Normal.dist(size=_batch_shape(rv, (mu, cov)))
        return AuxParts([Noise(eps)], lambda e: chol_affine(mu, cov, e))


@register_form(MvStudentTRV)
class MvStudentTForm(Form):
    r"""``MvStudentT(nu, mu, scale)``: :math:`z = \mu + L\epsilon`, :math:`\epsilon \sim t_\nu(0, I)`.

    The degrees of freedom stay a parameter of the noise.

    Examples
    --------
    .. code-block:: python

        import numpy as np
        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model() as m:
            s = pm.HalfNormal("s")
            z = pm.MvStudentT("z", nu=4, mu=np.zeros(2), scale=s * np.eye(2))

        aux = auxify(m, centering=0.0)  # z = chol(s * I) @ z_eps, z_eps ~ MvStudentT(4, 0, I)
    """

    summary = "z = mu + chol(scale) @ eps, eps ~ MvStudentT(nu, 0, I)"
    kind = "multivariate"

    def rewrite(self, rv, lam=0.0):
        nu, mu, scale = dist_params(rv)
        shape = _batch_shape(rv, (mu, scale))
        n = shape[-1]
        eps = pm.MvStudentT.dist(nu=nu, mu=pt.zeros((n,)), scale=pt.eye(n), shape=shape)
        return AuxParts([Noise(eps)], lambda e: chol_affine(mu, scale, e))


@register_form(ZeroSumNormalRV)
class ZeroSumNormalForm(Form):
    r"""``ZeroSumNormal(sigma)``: :math:`z = \sigma\epsilon`, :math:`\epsilon \sim \mathrm{ZSN}(1)`.

    The noise keeps the ``n_zerosum_axes`` (and with them the ZeroSumTransform) of ``z``.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify

        with pm.Model(coords={"g": range(5)}) as m:
            s = pm.HalfNormal("s")
            a = pm.ZeroSumNormal("a", sigma=s, dims="g")

        aux = auxify(m, centering=0.0)  # a = s * a_eps, a_eps ~ ZeroSumNormal(1), dims "g"
    """

    summary = "z = sigma * eps, eps ~ ZeroSumNormal(1)"
    kind = "multivariate"

    def rewrite(self, rv, lam=0.0):
        sigma, support_shape = dist_params(rv)
        if is_constant_value(sigma, 1):
            raise FormNotApplicable("already standard (sigma 1): nothing to rewrite")
        n_axes = pt.get_vector_length(support_shape)
        size = rv.owner.op.size_param(rv.owner)
        shape = static_shape(rv)
        if shape is None:
            shape = (*tuple(size), *tuple(support_shape))
        eps = pm.ZeroSumNormal.dist(sigma=1.0, n_zerosum_axes=n_axes, shape=shape)
        return AuxParts([Noise(eps)], lambda e: sigma * e)


__all__ = ["MvNormalForm", "MvStudentTForm", "ZeroSumNormalForm", "chol_affine"]
