"""The registry of forms: which :class:`~pymc_auxform.forms.base.Form` rewrites which variable.

Forms are registered against the PyTensor ``Op`` type of the random variable they rewrite
(:func:`register_form`), as a fallback for any Op that satisfies a predicate
(:func:`register_fallback_form`), or by distribution name for PyMC's ``CustomDist`` families
(:func:`register_named_form`); :func:`get_form` looks one up along the Op's MRO, so registering a
form for a base class covers its subclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pymc_auxform.forms.base import Form


@singledispatch
def _form_registry(op) -> Form | None:
    return None


def register_form(*op_types: type) -> Callable[[type[Form]], type[Form]]:
    """Class decorator: register a :class:`Form` for one or more random-variable Op types.

    Examples
    --------
    .. code-block:: python

        from pytensor.tensor.random.basic import NormalRV
        from pymc_auxform.forms import LocScaleForm, register_form


        @register_form(NormalRV)
        class NormalForm(LocScaleForm):
            ...
    """

    def decorator(form_cls: type[Form]) -> type[Form]:
        instance = form_cls()
        for op_type in op_types:
            _form_registry.register(op_type)(lambda op, _f=instance: _f)
        return form_cls

    return decorator


_FALLBACK_FORMS: list[tuple[Callable[[object], bool], Form]] = []


def register_fallback_form(applies: Callable[[object], bool]) -> Callable[[type[Form]], type[Form]]:
    """Class decorator: a :class:`Form` used for any Op with no registered form when ``applies(op)``.

    Fallbacks are tried in registration order, after the exact forms of :func:`register_form`.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform.forms.base import Form, register_fallback_form


        @register_fallback_form(lambda op: hasattr(op, "icdf"))
        class MyGenericForm(Form): ...
    """

    def decorator(form_cls: type[Form]) -> type[Form]:
        _FALLBACK_FORMS.append((applies, form_cls()))
        return form_cls

    return decorator


_NAMED_FORMS: dict[str, Form] = {}


def _is_custom_dist(op) -> bool:
    from pymc.distributions.custom import CustomSymbolicDistRV

    return isinstance(op, CustomSymbolicDistRV)


def register_named_form(name: str) -> Callable[[type[Form]], type[Form]]:
    """Class decorator: a :class:`Form` for the distributions PyMC builds as a ``CustomDist``
    (their Op type is made on the fly), by the distribution's name (e.g. ``"LogitNormal"``)."""

    def decorator(form_cls: type[Form]) -> type[Form]:
        _NAMED_FORMS[name] = form_cls()
        return form_cls

    return decorator


def get_form(op) -> Form | None:
    """Return the :class:`Form` for a random-variable ``Op`` (``None`` if there is none).

    An exact form registered for the Op type (or a base class) wins; otherwise the first fallback
    form (:func:`register_fallback_form`, e.g. the inverse-CDF form) that applies to ``op``.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.forms import get_form

        get_form(pm.Normal.dist().owner.op).kind  # "affine"
        get_form(pm.Beta.dist(2, 3).owner.op).kind  # "icdf"
    """
    form = _NAMED_FORMS.get(type(op).__name__) if _is_custom_dist(op) else None
    if form is None:
        form = _form_registry(op)
    if form is None:
        form = next((f for applies, f in _FALLBACK_FORMS if applies(op)), None)
    return form


__all__ = ["get_form", "register_fallback_form", "register_form", "register_named_form"]
