"""Private helpers shared by :mod:`~pymc_auxform.em` and :mod:`~pymc_auxform.marginal`.

* :class:`PersistentChain`: one Markov chain of a PyMC step method (NUTS or HMC) that keeps its
  position and its adaptation between calls, driven like ``pymc.sampling.mcmc._iter_sample``
  (``setup_chain`` once, then ``step.step(point)``).
* :func:`vectorize_over_draws`: a model graph evaluated at ``L`` draws at once, so one compiled
  function takes all draws as inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from pytensor.graph.basic import Variable
from pytensor.graph.replace import vectorize_graph

from pymc_auxform._util import is_discrete

STEP_METHODS = {"nuts": pm.NUTS, "hmc": pm.HamiltonianMC}


def make_step(model: pm.Model, step: str, rng: np.random.Generator, step_kwargs: Mapping | None):
    """Build a PyMC step method on all continuous free variables of ``model``."""
    key = step.lower() if isinstance(step, str) else step
    if key not in STEP_METHODS:
        raise ValueError(f"step must be one of {sorted(STEP_METHODS)}, got {step!r}.")
    discrete = [v.name for v in model.free_RVs if is_discrete(v)]
    if discrete:
        raise ValueError(
            f"The latent variables {discrete} are discrete; the E-step runs {key.upper()} and "
            "needs continuous latents only. Marginalize them out or make them observed."
        )
    if not model.free_RVs:
        raise ValueError("The model has no free (latent) variables to sample.")
    with model:
        return STEP_METHODS[key](
            vars=model.continuous_value_vars, rng=rng, **dict(step_kwargs or {})
        )


class PersistentChain:
    """A single chain of a PyMC step method whose position and tuning persist between calls.

    Parameters
    ----------
    model : pm.Model
    step : {"nuts", "hmc"}
    rng : numpy.random.Generator
    step_kwargs : dict, optional
        Passed to ``pm.NUTS`` / ``pm.HMC`` (e.g. ``target_accept``, ``path_length``).
    start : dict, optional
        Starting point (value-variable names to arrays); default: the model's initial point
        jittered like ``pm.sample`` (uniform in [-1, 1]).
    """

    def __init__(self, model, *, step="nuts", rng, step_kwargs=None, start=None):
        self.model = model
        self.step = make_step(model, step, rng, step_kwargs)
        self.step.setup_chain(rng, 1, 1)
        self.step.tune = True
        self.names = [v.name for v in model.continuous_value_vars]
        if start is None:
            start = jittered(model.initial_point(), rng)
        self.point = {k: np.array(v) for k, v in start.items()}

    def sample(self, n: int, *, tune: bool) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """Take ``n`` steps; return the draws (stacked on a leading axis) and summary stats."""
        if self.step.tune != tune:
            if tune:
                self.step.tune = True
            else:
                self.step.stop_tuning()
        draws = {k: np.empty((n, *np.shape(self.point[k]))) for k in self.names}
        accept, n_grad, diverging, step_size = 0.0, 0, 0, 0.0
        for i in range(n):
            self.point, stats = self.step.step(self.point)
            s = stats[0]
            accept += float(s.get("mean_tree_accept", s.get("accept", np.nan)))
            n_grad += int(s.get("tree_size", s.get("n_steps", 0)))
            diverging += int(bool(s.get("diverging", False)))
            step_size = float(s.get("step_size", np.nan))
            for k in self.names:
                draws[k][i] = self.point[k]
        stats = {
            "accept": accept / max(n, 1),
            "n_grad": n_grad,
            "divergences": diverging,
            "step_size": step_size,
        }
        return draws, stats

    @property
    def state(self) -> dict:
        """Everything needed to continue this chain later (picklable)."""
        return {"point": dict(self.point), "step": self.step.sampling_state}

    @state.setter
    def state(self, value: dict) -> None:
        self.point = dict(value["point"])
        self.step.sampling_state = value["step"]


def jittered(point: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict:
    """``point`` plus uniform(-1, 1) noise, like ``pm.sample``'s ``jitter+adapt_diag`` start."""
    return {k: v + rng.uniform(-1, 1, size=np.shape(v)) for k, v in point.items()}


def vectorize_over_draws(
    outputs: Sequence[Variable], value_vars: Sequence[Variable]
) -> tuple[list[Variable], list[Variable]]:
    """Rewrite ``outputs`` as functions of value variables with an extra leading draws axis.

    Returns the new (batched) inputs, in the order of ``value_vars``, and the batched outputs.
    """
    batched = {
        v: pt.tensor(name=f"{v.name}_draws", shape=(None, *v.type.shape), dtype=v.type.dtype)
        for v in value_vars
    }
    out = vectorize_graph(list(outputs), replace=batched)
    return list(batched.values()), list(out)


__all__ = ["PersistentChain", "jittered", "make_step", "vectorize_over_draws"]
