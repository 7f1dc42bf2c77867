"""The arguments of :func:`~pymc_auxform.compare_forms`, checked before anything is sampled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pymc as pm

from pymc_auxform.sampling import is_auxified

NUTS_SAMPLERS = ("pymc", "nutpie", "numpyro", "blackjax")


def check_inputs(model, draws, tune, chains, nuts_sampler, aux_model, exclude, min_ess):
    """Check the arguments of :func:`~pymc_auxform.compare_forms` (see there for their meaning).

    Raises
    ------
    TypeError
        If ``model`` is not a ``pm.Model``.
    ValueError
        If ``model`` is auxified or has no free variables, a setting is out of range, or
        ``aux_model`` was not made by :func:`~pymc_auxform.auxify` from ``model``.
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"compare_forms expects a pymc.Model, got {type(model).__name__}.")
    if is_auxified(model):
        raise ValueError(
            "This model is already auxified: pass the model as written, and the auxified one "
            "as aux_model= if you made it yourself (compare_forms(original, aux_model=aux))."
        )
    if not model.free_RVs:
        raise ValueError("The model has no free variables: there is nothing to sample.")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if nuts_sampler is not None and nuts_sampler not in NUTS_SAMPLERS:
        raise ValueError(f"nuts_sampler must be one of {NUTS_SAMPLERS}, got {nuts_sampler!r}.")
    if min_ess is not None and not min_ess > 0:
        raise ValueError(f"min_ess must be positive, got {min_ess!r}.")
    if aux_model is None:
        return
    if exclude is not None:
        raise ValueError("exclude= is used only to auxify the model; with aux_model= leave it out.")
    if not isinstance(aux_model, pm.Model) or not is_auxified(aux_model):
        raise ValueError("aux_model was not made by pymc_auxform.auxify; pass auxify(model).")
    missing = [rv.name for rv in model.free_RVs if rv.name not in aux_model.named_vars]
    if missing:
        raise ValueError(
            f"aux_model lacks the model's free variables {missing}: is it auxify(model)?"
        )


def check_step(step) -> Callable | None:
    """Return ``step`` if each model can build its own step method from it (class or callable).

    Raises
    ------
    TypeError
        If ``step`` is a step-method instance (bound to one model) or not callable.
    """
    if isinstance(step, pm.step_methods.compound.BlockedStep) or (
        step is not None and not callable(step)
    ):
        raise TypeError(
            f"step={step!r} is bound to one model; pass its class or a function that builds "
            "it (e.g. step=pm.HamiltonianMC), because each model needs its own step method."
        )
    return step


__all__ = ["NUTS_SAMPLERS", "check_inputs", "check_step"]
