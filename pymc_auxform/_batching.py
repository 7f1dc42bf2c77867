"""Minibatches of a large data set for the learning loops (:func:`~pymc_auxform.stochastic_em`,
:func:`~pymc_auxform.fit_mc_likelihood`): the user's spec and the bookkeeping of batch rows,
per-datapoint chain states and the log-density scaling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pytensor.compile import SharedVariable

from pymc_auxform._draws import PersistentChain, jittered
from pymc_auxform.reporting import report


@dataclass(frozen=True)
class Minibatch:
    """How :func:`stochastic_em` draws minibatches from a large data set.

    The model must be built with ``pm.Data`` holding ONE batch (``batch_size`` rows). Each
    iteration sets the rows of the next batch (shuffled epochs) into those ``pm.Data``, loads the
    persistent chain states of the batch's per-datapoint latents, runs the E-step, and stores the
    states back. Observed variables and the listed latents are scaled by ``N / batch_size``, so the
    objective estimates the full-data one (every observed variable is taken as per-datapoint).

    Parameters
    ----------
    data : dict of str to array
        Full data for ``pm.Data`` variables (by name); axis 0 indexes data points.
    batch_size : int
        Rows per batch; must equal the current length of axis 0 of every ``data`` variable.
    latents : sequence of str, optional
        Per-datapoint latent variables (original names); axis 0 indexes data points.

    Examples
    --------
    .. code-block:: python

        X = np.random.default_rng(0).normal(size=(1000, 3))
        with pm.Model() as model:
            x = pm.Data("x", X[:50])
            w = pm.Data("w", np.ones(3))
            z = pm.Normal("z", shape=(50, 1))
            pm.Normal("obs", z * w, 1.0, observed=x)
        mb = Minibatch(data={"x": X}, batch_size=50, latents=["z"])
        result = stochastic_em(model, ["w"], n_iter=200, minibatch=mb, random_seed=0)
    """

    data: Mapping[str, np.ndarray]
    batch_size: int
    latents: Sequence[str] = ()


class Batcher:
    """Minibatch bookkeeping: data rows, per-datapoint chain states, and the logp scaling."""

    def __init__(self, model, work, minibatch: Minibatch | None, use_auxiliary, rng):
        self.spec, self.work, self.rng = minibatch, work, rng
        self.scale, self.scaled_names, self.latent_values = 1.0, [], []
        self.order, self.pos, self.idx, self.storage = np.arange(0), 0, None, {}
        if minibatch is None:
            return
        if not isinstance(minibatch, Minibatch):
            raise TypeError(f"minibatch must be a Minibatch, got {type(minibatch).__name__}.")
        b = minibatch.batch_size
        sizes = {}
        for name, values in minibatch.data.items():
            var = model.named_vars.get(name)
            if not isinstance(var, SharedVariable):
                raise ValueError(f"minibatch.data: {name!r} is not a pm.Data of the model.")
            current = np.shape(var.get_value())
            if not current or current[0] != b or np.shape(values)[1:] != current[1:]:
                raise ValueError(
                    f"minibatch.data[{name!r}]: the model must hold one batch of shape "
                    f"({b}, ...) matching the rows of the full data {np.shape(values)}; it holds "
                    f"{current}. Build the model with pm.Data({name!r}, data[:{b}])."
                )
            sizes[name] = np.shape(values)[0]
        if len(set(sizes.values())) != 1:
            raise ValueError(f"minibatch.data arrays have different numbers of rows: {sizes}.")
        self.n = next(iter(sizes.values()))
        if not 0 < b <= self.n:
            raise ValueError(f"minibatch.batch_size must be in [1, {self.n}], got {b}.")
        self.scale = self.n / b
        free = free_names(model, work, minibatch.latents, use_auxiliary)
        self.scaled_names = [rv.name for rv in work.observed_RVs] + free
        self.latent_values = [work.rvs_to_values[work[n]].name for n in free]

    def start(self) -> dict | None:
        if self.spec is None:
            return None
        point = self.work.initial_point()
        start = jittered(point, self.rng)
        for k in self.latent_values:
            rows = np.arange(self.n) % self.spec.batch_size
            base = np.take(point[k], rows, axis=0)
            self.storage[k] = base + self.rng.uniform(-1, 1, size=base.shape)
        return start

    def load_next(self, chain: PersistentChain | None = None) -> None:
        if self.spec is None:
            return
        b = self.spec.batch_size
        if self.pos + b > len(self.order):
            self.order, self.pos = self.rng.permutation(self.n), 0
        self.idx = self.order[self.pos : self.pos + b]
        self.pos += b
        for name, values in self.spec.data.items():
            self.work[name].set_value(np.asarray(values)[self.idx])
        for k in self.latent_values if chain is not None else ():
            chain.point[k] = self.storage[k][self.idx].copy()

    def store(self, chain: PersistentChain) -> None:
        for k in self.latent_values if self.idx is not None else ():
            self.storage[k][self.idx] = chain.point[k]

    @property
    def state(self) -> dict:
        return {"order": self.order, "pos": self.pos, "storage": self.storage, "rng": self.rng}

    @state.setter
    def state(self, value: dict) -> None:
        self.order, self.pos = value["order"], value["pos"]
        self.storage, self.rng = value["storage"], value["rng"]


def free_names(model, work, latents, use_auxiliary) -> list[str]:
    """Free variables of ``work`` that carry the listed per-datapoint latents."""
    noises = report(work).noise_names if use_auxiliary else {}
    out = []
    for name in latents:
        if name not in model.named_vars or model[name] not in model.free_RVs:
            raise ValueError(f"minibatch.latents: {name!r} is not a free variable of the model.")
        out.extend(noises.get(name, (name,)))
    return out


__all__ = ["Batcher", "Minibatch", "free_names"]
