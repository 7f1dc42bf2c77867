r"""The pilot of the automatic centering choice: where to look, and the information there (internal).

:class:`Pilot` compiles one function of the auxiliary model (all latents in auxiliary form), in
the sampler's coordinates :math:`u` joined into one vector (and, once the searches have made a
few products, a second one of the likelihood's gradient alone: :meth:`Pilot._likelihood_gradient`):

* ``objective(u)``: the Laplace-corrected log density :math:`\log p(u) - \tfrac12 \sum_i
  \log(1 + c_i D_i(u)^2)`, its gradient, the likelihood's gradient (every term except the
  noises' own priors) and the slopes :math:`D_i`, for the searches;

and takes the product of the likelihood Hessian with a vector :math:`v` (:meth:`Pilot._hvp`) as
a difference of likelihood gradients along :math:`v`: central (two evaluations) for the
information, forward from the point just evaluated (one) in the search's Newton steps, whatever
the number of elements. Reverse-over-reverse products needed a second, larger graph and its
compilation: about a third of the pilot's setup. Differences assume a likelihood with continuous
second derivatives near the pilot's points; at a kink (a Laplace likelihood at a data point) a
difference reads a spike (the exact product reads 0; neither is the information there), so the
information's products are checked against the forward difference from the same evaluations
and the pilot fails where they disagree (:meth:`Pilot._probe`).

The likelihood information of noise element :math:`i` is :math:`-H_{ii}`. One product with a
Rademacher vector :math:`s` (random signs) supported on one noise variable (a *block*) gives
:math:`s_i (H s)_i = H_{ii} + \sum_{j \ne i} H_{ij} s_i s_j`: exactly the diagonal where the
block's Hessian is diagonal (conditionally independent elements: group effects), an unbiased
estimate otherwise (recurrent chains, multivariate blocks). Two products with independent signs
that agree to rounding prove the block diagonal (with probability one); blocks that are not get
one :math:`\lambda` from their mean information (the mean of the unclipped estimates, an
unbiased estimate of the block's mean diagonal; clipped per element it was biased up), pooled
over the pilot's modes once the mode hardly moves (the mean of the block means there).
When there are more blocks than ``colours``, blocks share products (independent signs, round
robin): the cost per pilot iteration is at most ``2 * colours`` products, never one per element.

:meth:`Pilot.move` finds the corrected mode by profiling out the diagonal blocks
(:mod:`pymc_auxform._profile`); without such blocks (recurrent chains only), by L-BFGS over all
coordinates.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from pymc.initial_point import make_initial_point_expression
from pymc.pytensorf import find_rng_nodes, replace_rng_nodes, reseed_rngs
from pytensor.gradient import DisconnectedType, grad
from pytensor.graph.basic import clone_get_equiv
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import graph_replace
from pytensor.graph.rewriting.basic import MergeOptimizer, in2out
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.basic import NormalRV
from pytensor.tensor.rewriting.basic import constant_folding
from scipy.optimize import minimize

from pymc_auxform._linker import compile_pilot, pilot_mode
from pymc_auxform._logp_terms import logp_terms, logp_terms_and
from pymc_auxform._profile import ProfileSearch, agree
from pymc_auxform._reach import ScaleReach
from pymc_auxform.forms.base import is_constant_value
from pymc_auxform.forms.checks import strip_guard
from pymc_auxform.reporting import AuxformInfo

# Estimated blocks pool their estimates over the pilot's modes while it moves by at most this
# (root mean square per coordinate): the first search moved 0.15 on a T=20 DBN, the next ones
# 3e-5 to 5e-5 (they are warm-started; only the correction changes).
_POOL_STEP = 0.1

# The steps of the differences, over the probe's largest element (see Pilot._hvp): about the cube
# root (central) and the square root (forward) of the machine epsilon, where the truncation and
# rounding errors balance.
_FD_STEP = 1e-5
_FD_FORWARD = 1e-7

# Products by forward differences before the likelihood's gradient gets a function of its own
# (see Pilot._likelihood_gradient)
_GRADIENT_ONLY_AFTER = 16


class PilotFailed(RuntimeError):
    """The pilot reached a point where the density or the information is not finite."""


class Pilot(ProfileSearch, ScaleReach):
    """Pilot point and likelihood information of the noise of each target variable.

    Parameters
    ----------
    aux : pm.Model
        The fully auxiliary model.
    model : pm.Model
        The original model (for the value transforms of the original variables).
    targets : list of (name, noise name, supports partial)
    rng : np.random.Generator
    mode : pytensor Mode or None
        PyTensor mode of the compiled functions; None: :func:`~pymc_auxform._linker.lean_function`
        (what ``pilot_mode()`` computes, compiled in half the time).
    colours : int
        At most this many groups of blocks are probed separately.
    """

    def __init__(self, aux, model, targets, rng, mode, colours: int = 4):
        self.aux = aux
        point = initial_point(aux, int(rng.integers(2**31)), mode)
        self.point = point
        values = aux.value_vars
        noise_values = {noise: aux.rvs_to_values[aux[noise]] for _, noise, _ in targets}
        self.shapes = {noise: point[v.name].shape for noise, v in noise_values.items()}
        self.c = {noise: pytensor.shared(np.zeros(s)) for noise, s in self.shapes.items()}
        offsets = np.cumsum([0] + [point[v.name].size for v in values])
        where = {v.name: slice(a, b) for v, a, b in zip(values, offsets, offsets[1:], strict=False)}
        self.where = {noise: where[v.name] for noise, v in noise_values.items()}
        self.noises = [noise for _, noise, _ in targets]
        correction, slopes = pt.constant(0.0), []
        can_partial = [(n, noise_values[e]) for n, e, p in targets if p]
        likelihood, own, forward = _split_logp(
            aux, {aux[noise] for noise in self.noises}, _forward(aux, model, can_partial)
        )
        partial = _slopes(can_partial, forward)
        for name, noise, _ in targets:
            d = partial.get(name)
            if d is not None:
                correction = correction + 0.5 * pt.sum(pt.log1p(self.c[noise] * d**2))
            slopes.append(pt.ones_like(noise_values[noise]) if d is None else d)
        joined = pt.vector("joined_inputs")
        likelihood, rest, *slopes = _joined_and_simplified(
            [likelihood, own - correction, *slopes], values, point, joined
        )
        # the likelihood's gradient is built once and shared by the objective and the product
        likelihood_grad = _grad(likelihood, joined)
        obj = likelihood + rest
        # products with the likelihood Hessian are differences of its gradient (see _hvp)
        self._objective = compile_pilot(
            [joined],
            [-obj, -(likelihood_grad + _grad(rest, joined)), likelihood_grad, *slopes],
            mode,
        )
        self.mode = mode
        # the likelihood's gradient alone, for the products (see _likelihood_gradient); in the
        # lean path its graph is taken from the objective's after that was merged in place
        self._gradient_graph = (joined, likelihood_grad)
        self._gradient_only = None
        self._forward_products = 0
        self.x = np.concatenate([point[v.name].ravel() for v in values]).astype(float)
        # Loose tolerances: lam = r/(1+r) needs r to a few per cent, not the mode to 1e-9. The
        # profile's relative decrease of 1e-7 is 1e-4 to 1e-3 nats on these models: against 1e-9,
        # 8% fewer evaluations over the 17 centering models (19% fewer to 10% more per model),
        # the same decisions (ad hoc, 2026-12-07)
        self.options = {"maxiter": 1000, "ftol": 1e-6, "gtol": 1e-3}
        self.outer_options = {"maxiter": 200, "ftol": 1e-7, "gtol": 1e-3}
        n = max(1, min(colours, len(self.noises)))
        self.colours = [self.noises[k::n] for k in range(n)]
        self.diagonal: dict[str, bool] = {}
        self.rng = rng
        self.gradient_calls = 0
        self.hvp_calls = 0
        self._steps: dict[str, np.ndarray] = {}
        self._block_means: dict[str, float] = {}
        self._pool: dict[str, list[float]] = {}
        # the point evaluated last, with its likelihood gradient and slopes
        self._last: tuple[np.ndarray, np.ndarray, list] = (np.full_like(self.x, np.nan), None, [])

    def start(self, prior: dict[str, float]) -> dict[str, np.ndarray] | None:
        """At the initial point: which blocks are diagonal (two probes each), and a first
        correction from the information there. The data's information about ``z`` itself
        (``c``) hardly depends on the hyperparameters, while the uncorrected mode is full pooling:
        a first search without correction only served to seed ``c`` (about half of all
        evaluations). Returns the information, or None if it is not finite there."""
        info = self.information()
        if not all(np.all(np.isfinite(i)) for i in info.values()):
            return None
        self._correct(info, prior)
        return info

    def move(self, prior: dict[str, float]) -> dict[str, np.ndarray]:
        """Move to the corrected mode; return the likelihood information of each noise there
        (and set the correction for the next call)."""
        if not self.diagonal:
            self.start(prior)
        inner = [n for n in self.noises if self.diagonal.get(n, False)]
        if inner:
            x, fun = self._nested(inner, prior)
        else:
            result = minimize(
                self._value_and_grad, self.x, jac=True, method="L-BFGS-B", options=self.options
            )
            x, fun = result.x, result.fun
        if not (np.all(np.isfinite(x)) and np.isfinite(fun)):
            raise PilotFailed("the pilot mode is not finite")
        step = float(np.sqrt(np.mean((x - self.x) ** 2)))
        self.x = x
        info = self._pooled(self.information(), step)
        bad = [n for n, i in info.items() if not np.all(np.isfinite(i))]
        if bad:
            raise PilotFailed(f"the information of {bad} is not finite at the pilot mode")
        self._correct(info, prior)
        return info

    def _correct(self, info, prior) -> None:
        """Set the Laplace correction's ``c = r / D**2`` from the information at the current point
        (damped: geometric mean with the last value, where there is one)."""
        for noise, d in zip(self.noises, self._slopes_at(self.x), strict=True):
            c = info[noise] / prior[noise] / np.maximum(np.asarray(d, dtype=float) ** 2, 1e-300)
            c = np.broadcast_to(c, self.shapes[noise])
            old = self.c[noise].get_value()
            # damped where the update turned back (geometric mean with the last value): the plain
            # update can cycle between full pooling and a wide tau on many small groups; damping
            # every step halved the error per iteration where it converged anyway
            step = np.sign(c - old)
            last = self._steps.get(noise, np.zeros_like(step))
            c = np.where((old > 0) & (step * last < 0), np.sqrt(old * c), c)
            self._steps[noise] = step
            self.c[noise].set_value(np.array(c, dtype=float))

    def information(self) -> dict[str, np.ndarray]:
        """Likelihood information per element of each noise at the current point, from at most
        two Hessian-vector products per colour (one once a colour is known to be diagonal)."""
        info = {}
        self._block_means = {}
        for colour in self.colours:
            known = all(self.diagonal.get(n, False) for n in colour)
            signs = self._signs(colour)
            estimates = [self._probe(colour, signs)]
            if not known:  # flip a random half of the signs: agreement proves a diagonal block
                estimates.append(
                    self._probe(colour, {n: s * _half(s.size, self.rng) for n, s in signs.items()})
                )
            for noise in colour:
                first = estimates[0][noise]
                if len(estimates) == 2 and noise not in self.diagonal:
                    other = estimates[1][noise]
                    self.diagonal[noise] = len(colour) == 1 and agree(first, other)
                mean = np.mean([e[noise] for e in estimates], axis=0)
                if not self.diagonal.get(noise, False):
                    # an estimate: only its block mean is unbiased. Clipped per element first, the
                    # off-diagonal noise (larger than the diagonal on long chains) biased it up:
                    # mean r 3.0 for 0.36 on the DBN at T=200, which then picked the centered form
                    mean = np.full_like(mean, np.mean(mean))
                    self._block_means[noise] = float(mean.flat[0])
                info[noise] = np.clip(mean, 0.0, None).reshape(self.shapes[noise])
        return info

    def _pooled(self, info: dict[str, np.ndarray], step: float) -> dict[str, np.ndarray]:
        """``info`` with each estimated block's information replaced by the mean of its block
        means (unclipped) at the pilot modes since the mode last moved by more than
        ``_POOL_STEP`` (root mean square per coordinate, ``step`` here). One or two probes per
        mode left the estimate's noise as large as the information on long chains (r 0.35 to 1.5
        over seeds on a T=20 DBN): the decision flipped between modes that hardly differ, and
        the fixed point ran to ``max_iter``."""
        for noise, mean in self._block_means.items():
            if step > _POOL_STEP:
                self._pool[noise] = []
            self._pool.setdefault(noise, []).append(mean)
            info[noise] = np.full(self.shapes[noise], max(float(np.mean(self._pool[noise])), 0.0))
        return info

    def _signs(self, colour) -> dict[str, np.ndarray]:
        return {
            noise: self.rng.choice(
                [-1.0, 1.0], size=self.where[noise].stop - self.where[noise].start
            )
            for noise in colour
        }

    def _probe(self, colour, signs) -> dict[str, np.ndarray]:
        v = np.zeros_like(self.x)
        for noise in colour:
            v[self.where[noise]] = signs[noise]
        hv, forward = self._checked_hvp(self.x, v)
        self.hvp_calls += 1
        found = {}
        for noise in colour:
            k = self.where[noise]
            central, other = -v[k] * hv[k], -v[k] * forward[k]
            scale = float(np.max(np.abs(central), initial=0.0))
            if not np.all(np.abs(other - central) <= 1e-2 * (np.abs(central) + scale)):
                raise PilotFailed(
                    f"the likelihood is not smooth near the pilot's point: the information of "
                    f"{noise!r} depends on the difference step (a kink, as a Laplace "
                    "likelihood has at each data point)"
                )
            found[noise] = central
        return found

    def _checked_hvp(self, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The central product of :meth:`_hvp`, and the forward one from the same evaluations
        and the gradient at ``x`` (computed if ``x`` is not the point evaluated last; the
        searches end where they last evaluated). Where the likelihood is smooth they agree to
        3e-5 of the product's largest element or better (ad hoc, the models of :meth:`_hvp`), and
        the check allows 1e-2; within a step of a kink (where a Laplace likelihood's gradient
        jumps) each reads a spike of the jump over the step, and they differ by half of it or
        more. The information's products are checked so (:meth:`_probe`): a spike read as
        information centered a data-poor group of a Laplace model."""
        if not np.array_equal(self._last[0], x):
            self._value_and_grad(x)
        central, plus, h = self._central(x, v)
        return central, (plus - self._last[1]) / h

    def _hvp(self, x: np.ndarray, v: np.ndarray, central: bool = True) -> np.ndarray:
        r"""The likelihood Hessian times ``v`` at ``x``, by differences of the likelihood gradient
        :math:`g` along ``v``.

        Central, :math:`(g(x + hv) - g(x - hv)) / 2h` with :math:`h\,\max|v| =` ``_FD_STEP``:
        the error is :math:`O(h^2)` times the third derivatives plus the gradient's rounding over
        :math:`h` (about 1e-11 of the gradient): at most 6e-10 of the product's largest element
        against reverse-over-reverse products on a tanh DBN, logit, Poisson and radon-style
        models off their modes (ad hoc), far below what :math:`\lambda = r/(1+r)` resolves.
        The third-derivative term of a diagonal block does not depend on the signs of ``v``
        (:math:`v_i^2 = 1`), so two probes of such a block still agree to rounding
        (:func:`~pymc_auxform._profile.agree`). Forward (``central=False``), :math:`(g(x + hv) -
        g(x)) / h` with ``_FD_FORWARD``, when ``x`` is the point evaluated last (its gradient is
        kept): one evaluation, an error of at most 3e-7 of the product there, for the Newton
        steps, which it only slows (on the 17 centering models: the same decisions, one more
        gradient in all); otherwise central."""
        last, at, _ = self._last
        if not central and np.array_equal(last, x):
            h = _FD_FORWARD / max(float(np.max(np.abs(v), initial=0.0)), 1e-300)
            return (self._likelihood_gradient(x + h * v, compile=True) - at) / h
        return self._central(x, v)[0]

    def _central(self, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The central difference along ``v`` (see :meth:`_hvp`), ``g(x + hv)`` and ``h``."""
        h = _FD_STEP / max(float(np.max(np.abs(v), initial=0.0)), 1e-300)
        plus = self._likelihood_gradient(x + h * v)
        minus = self._likelihood_gradient(x - h * v)
        return (plus - minus) / (2.0 * h), plus, h

    def _likelihood_gradient(self, x: np.ndarray, compile: bool = False) -> np.ndarray:
        """The likelihood's gradient at ``x``, the same numbers as the objective's third output.
        A function of its own computes it in about two thirds of the objective's time on
        radon-style models (ad hoc: 0.47 for 0.73 ms on radon_both_3k, 0.34 for 0.48 ms on
        radon_intercept_1k; the value, total gradient and slopes are left out). It is compiled
        at the ``_GRADIENT_ONLY_AFTER``-th forward product (``compile``): the profile search's
        Newton steps make a hundred of them on radon_both_3k, a few on eight schools; a pilot
        without diagonal blocks (recurrent chains) makes a few dozen central ones. Fewer do not
        pay for its compilation (4 ms on eight schools, 27 ms on the T=10 DBN)."""
        if self._gradient_only is None:
            self._forward_products += compile
            if self._forward_products < _GRADIENT_ONLY_AFTER:
                return np.asarray(self._objective(x)[2])
            joined, out = self._gradient_graph
            if self.mode is None:  # merged in place: read the objective's graph, and copy it
                fgraph = self._objective.fgraph
                joined, out = fgraph.inputs[0], fgraph.outputs[2]
                out = clone_get_equiv([joined], [out], copy_inputs=False, copy_orphans=False)[out]
            self._gradient_only = compile_pilot([joined], out, self.mode)
        return np.asarray(self._gradient_only(x))

    def _value_and_grad(self, x):
        self.gradient_calls += 1
        value, gradient, likelihood_grad, *slopes = self._objective(x)
        self._last = (
            np.array(x, copy=True),
            np.array(likelihood_grad, copy=True),
            [np.array(d, copy=True) for d in slopes],
        )
        return value, gradient

    def _slopes_at(self, x) -> list[np.ndarray]:
        """The slopes D at ``x``: those of the last evaluation when it was there (the searches
        end where they last evaluated; the slopes do not depend on ``c``)."""
        last, _, slopes = self._last
        if not np.array_equal(last, x):
            self.gradient_calls += 1
            slopes = self._objective(x)[3:]
        return slopes


def noise_information(
    aux: pm.Model, noise: str, n_draws: int, rng, mode, point: dict | None = None
) -> float:
    """Fisher information of a noise variable in its value (sampler) coordinates: the mean over
    draws of minus its log density's second derivative (1 for a standard Normal). The noise's
    log density is elementwise, so one reverse-over-reverse pass gives every element's.
    ``point``: an initial point of ``aux`` (the pilot's; computing one compiles a function)."""
    rv = aux[noise]
    transform = aux.rvs_to_transforms.get(rv)
    if isinstance(rv.owner.op, NormalRV) and transform is None:
        mu, sigma = rv.owner.op.dist_params(rv.owner)
        if is_constant_value(strip_guard(mu), 0) and is_constant_value(strip_guard(sigma), 1):
            return 1.0
    value = aux.rvs_to_values[rv]
    (logp,) = logp_terms(aux, [rv])
    curvature = _grad(pt.sum(_grad(pt.sum(logp), value)), value)
    natural = pt.as_tensor(rv).type()
    forward = natural if transform is None else transform.forward(natural, *rv.owner.inputs)
    (curvature,) = graph_replace([curvature], {value: forward}, strict=False)
    # the noise's parameter-check guard (forms.checks) may read other variables: they are fixed at
    # the initial point, where the guard holds (it never changes the density where it holds)
    point = initial_point(aux, 0, mode) if point is None else point
    others = {
        v: pt.constant(point[v.name], dtype=v.dtype)
        for v in aux.value_vars
        if v is not value and v in ancestors([curvature])
    }
    if others:
        (curvature,) = graph_replace([curvature], others, strict=False)
    # a graph of its own for compile_pilot, which merges in place: the transform's forward above
    # reads the noise's parameters, nodes of the model's graph
    curvature = clone_get_equiv([natural], [curvature], copy_inputs=False, copy_orphans=False)[
        curvature
    ]
    fn = compile_pilot([natural], curvature, mode)
    size = max(1, int(np.prod(point[value.name].shape)))
    n = max(2, -(-n_draws // size))
    draws = pm.draw(rv, draws=n, random_seed=rng, mode=pilot_mode() if mode is None else mode)
    return float(-np.mean([np.mean(fn(d)) for d in draws]))


def initial_point(model: pm.Model, seed: int, mode=None) -> dict[str, np.ndarray]:
    """``model.initial_point(random_seed=seed)`` (the same values), compiled as the pilot's
    functions are: PyMC compiles it with FAST_COMPILE's rewrites, a tenth of the choice on eight
    schools (ad hoc)."""
    values = make_initial_point_expression(
        free_rvs=model.free_RVs,
        rvs_to_transforms=model.rvs_to_transforms,
        initval_strategies=model.rvs_to_initial_values,
        jitter_rvs=set(),
        default_strategy="support_point",
        return_transformed=True,
    )
    values = replace_rng_nodes(values)
    reseed_rngs(find_rng_nodes(values), seed)
    fn = compile_pilot([], values, mode)
    return {v.name: np.asarray(x) for v, x in zip(model.value_vars, fn(), strict=True)}


def _split_logp(aux: pm.Model, noise_rvs: set, graphs: list) -> tuple:
    """One logp graph of ``aux``, summed into the likelihood (every term but the noises' own
    priors) and the noises' own priors (:func:`~pymc_auxform._logp_terms.logp_terms`; with
    ``Model.logp`` this was a fifth of the choice on small models), and ``graphs`` with the
    random variables replaced by their values in the same copy."""
    variables = aux.free_RVs + aux.observed_RVs + aux.potentials
    terms, graphs = logp_terms_and(aux, variables, graphs)
    own = [pt.sum(t) for v, t in zip(variables, terms, strict=True) if v in noise_rvs]
    rest = [pt.sum(t) for v, t in zip(variables, terms, strict=True) if v not in noise_rvs]
    return (
        pt.add(*rest) if rest else pt.constant(0.0),
        pt.add(*own) if own else pt.constant(0.0),
        graphs,
    )


def _joined_and_simplified(outputs: list, values: list, point: dict, joined) -> list:
    """``outputs`` as functions of the vector ``joined`` (``values`` raveled and concatenated),
    with the report's identity nodes dropped, duplicate subgraphs merged and constant subgraphs
    folded.

    Rewritten in place: ``outputs`` must be a graph of its own, as the model's ``logp`` builds
    (a copy of the model's graph). In place, not by ``join_nonshared_inputs``: that copies each
    output separately, a copy of the whole chain per output, and the copy was the costliest step.
    Before differentiating: each observation's log density carries its own copy of the chain
    above it (folded differently, so merging alone left most of them): 1,974 nodes for 466 after
    this on the T=10 DBN, and the gradients, their compilation and every evaluation paid for the
    copies.
    """
    fgraph = FunctionGraph(outputs=outputs, clone=False)
    replacements = [
        (n.outputs[0], n.inputs[0]) for n in fgraph.apply_nodes if isinstance(n.op, AuxformInfo)
    ]
    start = 0
    for value in values:
        shape = point[value.name].shape
        piece = joined[start : start + int(np.prod(shape))].reshape(shape).astype(value.dtype)
        start += int(np.prod(shape))
        if value in fgraph.variables:
            replacements.append((value, value.type.filter_variable(piece)))
    fgraph.replace_all(replacements, import_missing=True)
    MergeOptimizer().rewrite(fgraph)
    in2out(constant_folding, ignore_newtrees=True).rewrite(fgraph)
    MergeOptimizer().rewrite(fgraph)
    return list(fgraph.outputs)


def _half(n: int, rng) -> np.ndarray:
    """Random signs with at least one of each (for n >= 2)."""
    t = rng.choice([-1.0, 1.0], size=n)
    if n >= 2 and abs(t.sum()) == n:
        t[rng.integers(n)] *= -1
    return t


def _grad(cost, wrt):
    g = grad(cost, wrt, disconnected_inputs="ignore", return_disconnected="zero")
    return pt.zeros_like(wrt) if isinstance(g.type, DisconnectedType) else g


def _forward(aux, model, targets: list) -> list:
    """``T(z)`` of each ``(name, noise value)`` in ``targets`` (T: z's value transform in
    ``model``), as graphs of ``aux``'s random variables."""
    forward = []
    for name, _ in targets:
        z = aux[name]
        transform = model.rvs_to_transforms.get(model[name])
        forward.append(z if transform is None else transform.forward(z))
    return forward


def _slopes(targets: list, forward: list) -> dict:
    """Elementwise dT(z)/du of the forward map of each ``(name, noise value)`` in ``targets``
    (u: its noise value), from ``forward``: the :func:`_forward` graphs with the variables
    replaced by their values, in the copy of the model's graph the log density was built in (one
    copy per variable copied the chain above it each time)."""
    return {
        name: grad(pt.sum(tz), noise_value, disconnected_inputs="ignore")
        for (name, noise_value), tz in zip(targets, forward, strict=True)
    }


__all__ = ["Pilot", "PilotFailed", "noise_information"]
