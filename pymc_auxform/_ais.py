r"""Annealed importance sampling (Neal, 2001) of :math:`\log p(x)` with HMC transitions.

Particles start at prior draws of the latents, in the sampler's unconstrained space (in
auxiliary form: the noise, whose prior is free of :math:`\theta`), and move through the tempered
targets :math:`\pi_\beta(u) \propto p(u)\,p(x \mid u)^\beta`, :math:`0 = \beta_0 < \dots <
\beta_T = 1`. Each particle's log weight accumulates :math:`(\beta_t - \beta_{t-1}) \log p(x \mid
u_{t-1})`; between temperatures, a few HMC steps leave :math:`\pi_{\beta_t}` invariant. The
mass matrix is the inverse of the particles' variance per coordinate, and the step size follows
the acceptance rate of the population (both set before each move, from the current particles:
adaptive AIS). All particles are moved at once by one compiled, vectorized function.
"""

from __future__ import annotations

import itertools

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pytensor.graph.replace import vectorize_graph


class _Target:
    """Vectorized log prior, log likelihood and gradient of the tempered target, on (K, D)."""

    def __init__(self, model: pm.Model, mode):
        values = model.continuous_value_vars
        point = model.initial_point()
        self.shapes = [np.shape(point[v.name]) for v in values]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        flat = pt.matrix("u", dtype="float64")
        beta = pt.scalar("beta", dtype="float64")
        pieces, start = {}, 0
        for v, shape, size in zip(values, self.shapes, self.sizes, strict=True):
            pieces[v] = flat[:, start : start + size].reshape((flat.shape[0], *shape))
            start += size
        self.dim = start
        prior = model.logp(vars=model.free_RVs)
        lik = model.logp(vars=model.observed_RVs + list(model.potentials))
        lp0, ll = vectorize_graph([prior, lik], replace=pieces)
        grad = pt.grad((lp0 + beta * ll).sum(), flat)
        self.fn = pytensor.function([flat, beta], [lp0, ll, grad], mode=mode)
        self.fn.trust_input = True
        self.values = values

    def prior_draws(self, model, k, rng) -> np.ndarray:
        """K prior draws of the free variables, mapped to the unconstrained space, as (K, D)."""
        outs = []
        for rv in model.free_RVs:
            tr = model.rvs_to_transforms.get(rv)
            outs.append(rv if tr is None else tr.forward(rv, *rv.owner.inputs))
        draws = pm.draw(outs, draws=k, random_seed=rng)
        draws = draws if isinstance(draws, list) else [draws]
        by_value = {
            model.rvs_to_values[rv]: np.asarray(d)
            for rv, d in zip(model.free_RVs, draws, strict=True)
        }
        return np.concatenate([by_value[v].reshape(k, -1) for v in self.values], axis=1)


def ais_log_weights(
    model: pm.Model,
    *,
    n_particles: int,
    n_temps: int,
    n_leapfrog: int,
    rng: np.random.Generator,
    mode=None,
) -> tuple[np.ndarray, dict]:
    """Log AIS weights (one per particle) and run statistics."""
    target = _Target(model, mode)
    u = target.prior_draws(model, n_particles, rng)
    betas = _schedule(n_temps)
    lp0, ll, grad = target.fn(u, betas[0])
    log_w = np.zeros(n_particles)
    step, accepts, n_grad = 1.0 / max(target.dim, 1) ** 0.25, [], 0
    for b_prev, b in itertools.pairwise(betas):
        log_w += (b - b_prev) * ll
        _, _, grad = target.fn(u, b)  # gradient at the new temperature
        inv_mass = np.maximum(u.var(axis=0), 1e-8)  # mass^-1 = particle variance
        u, lp0, ll, grad, acc = _hmc(target, u, lp0, ll, grad, b, step, n_leapfrog, inv_mass, rng)
        n_grad += n_leapfrog
        accepts.append(acc.mean())
        step *= np.exp(1.5 * (acc.mean() - 0.7))  # keep acceptance near 0.7
    bad = ~np.isfinite(log_w)
    log_w[bad] = -np.inf
    stats = {
        "accept": float(np.mean(accepts)),
        "final_step_size": float(step),
        "n_grad_per_particle": n_grad,
        "dim": target.dim,
    }
    return log_w, stats


def _hmc(target, u, lp0, ll, grad, beta, step, n_leapfrog, inv_mass, rng):
    """One HMC move of every particle (diagonal mass, per-particle jittered step) on pi_beta."""
    k = len(u)
    eps = step * rng.uniform(0.8, 1.2, size=(k, 1))
    p = rng.normal(size=u.shape) / np.sqrt(inv_mass)
    h0 = -(lp0 + beta * ll) + 0.5 * np.sum(p * p * inv_mass, axis=1)
    q, g = u.copy(), grad
    p = p + 0.5 * eps * g
    for i in range(n_leapfrog):
        q = q + eps * inv_mass * p
        lq0, lql, g = target.fn(q, beta)
        if i < n_leapfrog - 1:
            p = p + eps * g
    p = p + 0.5 * eps * g
    h1 = -(lq0 + beta * lql) + 0.5 * np.sum(p * p * inv_mass, axis=1)
    log_acc = np.where(np.isfinite(h1), h0 - h1, -np.inf)
    acc = np.exp(np.minimum(log_acc, 0.0))
    take = rng.uniform(size=k) < acc
    u = np.where(take[:, None], q, u)
    lp0 = np.where(take, lq0, lp0)
    ll = np.where(take, lql, ll)
    grad = np.where(take[:, None], g, grad)
    return u, lp0, ll, grad, acc


def _schedule(n: int) -> np.ndarray:
    """``n`` sigmoidal temperatures from 0 to 1 (Grosse et al., 2015): dense at both ends."""
    s = 1.0 / (1.0 + np.exp(-np.linspace(-5.0, 5.0, n)))
    return (s - s[0]) / (s[-1] - s[0])


__all__ = ["ais_log_weights"]
