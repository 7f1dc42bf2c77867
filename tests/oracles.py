"""Shared test oracles: same log density at the same points, same prior in distribution."""

import numpy as np
import pymc as pm
import pytensor

from pytensor.compile.mode import Mode
from scipy import stats

# Python linker without graph rewrites: the test graphs are compiled once each, so skipping the
# C compilation and the rewrites is much faster than running them.
FAST = Mode(linker="py", optimizer=None)
# Python linker with the few rewrites that turn parameter checks into -inf (as in sampling).
CHECKED = Mode(linker="py", optimizer="fast_compile")


def assert_same_logp(a, b, *, seed=0, n_points=3, rtol=1e-8, mode=FAST, rename=None):
    """Both models have the same logp at random points (of ``a``'s value variables).

    ``rename`` maps a point of ``a`` to one of ``b`` (default: the same names).
    """
    f_a, f_b = a.compile_logp(mode=mode), b.compile_logp(mode=mode)
    names_b = {v.name for v in b.value_vars}
    if rename is None:
        assert {v.name for v in a.value_vars} == names_b
    rng = np.random.default_rng(seed)
    start = a.initial_point()
    for _ in range(n_points):
        point = {name: rng.normal(size=np.shape(x)) for name, x in start.items()}
        other = rename(point) if rename else point
        assert set(other) == names_b
        np.testing.assert_allclose(f_a(point), f_b(other), rtol=rtol)


def assert_same_prior(m_a, m_b, names, *, seed=1, draws=1000, batch=None, mode=FAST):
    """Two-sample KS test per element of each named variable (p > 1e-3, seeded).

    ``batch=N``: the models are batched, one draw holds ``N`` iid prior draws on the first axis.
    """
    n = 1 if batch else draws
    a = pm.draw([m_a[k] for k in names], draws=n, random_seed=seed, mode=mode)
    b = pm.draw([m_b[k] for k in names], draws=n, random_seed=seed + 100, mode=mode)
    rows = batch or draws
    for name, xa, xb in zip(names, a, b, strict=True):
        xa, xb = np.reshape(xa, (rows, -1)), np.reshape(xb, (rows, -1))
        for j in range(xa.shape[1]):
            p = stats.ks_2samp(xa[:, j], xb[:, j]).pvalue
            assert p > 1e-3, f"{name}[{j}]: KS p-value {p:.2g}"


def natural_points(model, *, seed=0, n_points=5, scale=1.5, mode=FAST):
    """Random points of ``model``'s free variables in their natural (constrained) space.

    Values are drawn iid N(0, scale) in the sampler's unconstrained coordinates and mapped back
    through the value transforms, so they cover the whole support, invalid parameters included.
    """
    values = model.value_vars
    names = [v.name for v in values]
    natural = model.replace_rvs_by_values(model.free_RVs)
    for v, name in zip(values, names, strict=True):  # PyMC may name an identity backward map
        v.name = name  # (e.g. an Interval with no bounds) after the variable, in place
    f = pytensor.function(values, natural, mode=mode, on_unused_input="ignore")
    start = model.initial_point()
    rng = np.random.default_rng(seed)
    for _ in range(n_points):
        point = [
            rng.integers(0, 4, size=np.shape(start[v.name]))
            if v.dtype.startswith(("int", "uint"))
            else scale * rng.normal(size=np.shape(start[v.name]))
            for v in values
        ]
        out = f(*point)
        yield {rv.name: np.asarray(x) for rv, x in zip(model.free_RVs, out, strict=True)}


def _or_ninf(f):
    """``f(point)``, or -inf where a parameter check raises (as PyMC's compiled logp would give)."""
    from pymc.logprob.utils import ParameterValueError

    def wrapped(point):
        try:
            return float(f(point))
        except ParameterValueError:
            return -np.inf

    return wrapped


def _rounding_sensitive(logp, point, names, lo, tol):
    """Whether moving variables in ``names`` by one ulp moves ``logp`` by more than ``tol``.

    Each element alone, each variable as a whole and all of them together are moved one ulp
    down and one ulp up (several elements can sit on a boundary at once). Such a point is one
    where the map ``z = g(eps)`` lands within a few ulps of a singularity or boundary of the
    original density (a sigmoid that rounds to ``1 - 1e-15``, an ``exp`` that underflows to
    ``0``): the float64 ``z`` has lost the information the original's density needs, so
    ``log p_orig(z)`` cannot be evaluated to the tolerance (or is ``-inf`` at a ``z`` that is
    inside the support in exact arithmetic), while the aux density, a density of ``eps``, is
    still exact. The identity cannot be checked in float64 there.
    """
    zs = {name: np.asarray(point[name], dtype=float) for name in names}
    moves = [[(name, index)] for name, z in zs.items() for index in np.ndindex(z.shape)]
    moves += [[(name, ...)] for name in names]
    moves.append([(name, ...) for name in names])
    for move in moves:
        for direction in (-np.inf, np.inf):
            moved = {name: z.copy() for name, z in zs.items()}
            for name, index in move:
                moved[name][index] = np.nextafter(zs[name][index], direction)
            other = logp({**point, **moved})
            if np.isneginf(lo) and np.isneginf(other):
                continue
            if not np.isfinite(other - lo) or abs(other - lo) > tol:
                return True
    return False


def assert_change_of_variables(
    original, aux, *, seed=0, n_points=5, scale=1.5, rtol=1e-7, counts=None
):
    """Oracle 0 of the guide: exactness of the rewrite at random noise points.

    With value transforms removed, ``log p_aux(eps) == log p_orig(g(eps)) + sum_j log|det dz_j/
    deps_j|`` (the map is triangular: each rewritten variable's own Jacobian), and ``-inf`` in one
    exactly where ``-inf`` in the other. Never NaN where the original is not NaN.
    Points where ``z`` or the Jacobian is not finite (float64 overflow in the map) are skipped.
    A point where the two disagree is skipped only when the original's logp is not determined to
    the tolerance by the float64 ``z`` (one ulp of some ``z`` moves it more than a tenth of the
    tolerance, or across ``-inf``): ``g`` saturated at a boundary of the support.
    Returns the number of points where both were finite and compared; ``counts`` (a dict), if
    given, is incremented per outcome: ``"compared"``, ``"both -inf"``, ``"map raised"``,
    ``"overflow"``, ``"original NaN"``, ``"saturated"``.
    """
    counts = {} if counts is None else counts

    def count(outcome):
        counts[outcome] = counts.get(outcome, 0) + 1

    from pymc.logprob.utils import ParameterValueError
    from pymc.model.transform.conditioning import remove_value_transforms
    from pytensor.gradient import jacobian

    from pymc_auxform import report

    rep = report(aux)
    # points first: removing the transforms renames the models' value variables in place
    points = list(natural_points(aux, seed=seed, n_points=n_points, scale=scale))
    a, o = remove_value_transforms(aux), remove_value_transforms(original)
    a.check_bounds, o.check_bounds = aux.check_bounds, original.check_bounds
    rewritten = [r for r in rep.rewritten if len(r.noise) == 1]
    assert len(rewritten) == len(rep.rewritten), "forms with several noises are not checked here"
    values = {v.name: v for v in a.value_vars}
    zs = a.replace_rvs_by_values([a[r.name] for r in rewritten])
    logdets = []
    for r, z in zip(rewritten, zs, strict=True):
        eps = values[r.noise[0]]
        if z.ndim == 0:
            logdets.append(pytensor.grad(z, eps).reshape((1, 1)))
        else:
            logdets.append(jacobian(z.ravel(), eps, vectorize=True).reshape((z.size, eps.size)))
    # without rewrites (fast to compile) a failed parameter check raises: that is -inf
    mode = FAST if original.check_bounds else CHECKED
    g = pytensor.function(a.value_vars, [*zs, *logdets], on_unused_input="ignore", mode=mode)
    logp_a = _or_ninf(a.compile_logp(jacobian=False, mode=mode))
    logp_o = _or_ninf(o.compile_logp(jacobian=False, mode=mode))
    finite = 0
    for point in points:
        aux_point = {name: point[name] for name in values}
        try:
            out = g(**aux_point)
        except ParameterValueError:  # the map itself checks (e.g. a Cholesky of an invalid cov)
            out = None
        la = logp_a(aux_point)
        if out is None:
            assert np.isneginf(la), "the map raised but the aux logp is finite"
            count("map raised")
            continue
        z_vals, dets = out[: len(rewritten)], out[len(rewritten) :]
        if not all(np.all(np.isfinite(x)) for x in (*z_vals, *dets)):
            # the map or its Jacobian overflows (exp of > 709, a scale exp(x) of inf that sends
            # z to 0 with a NaN Jacobian): a point no float64 model can represent
            count("overflow")
            continue
        orig_point = {v.name: point.get(v.name) for v in o.value_vars}
        orig_point.update({r.name: z for r, z in zip(rewritten, z_vals, strict=True)})
        lo = logp_o(orig_point)
        if np.isnan(lo):
            count("original NaN")
            continue
        assert not np.isnan(la), f"aux logp is NaN where the original's is {lo} at {point}"
        if np.isneginf(lo) and np.isneginf(la):
            count("both -inf")
            continue
        expected = lo + sum(np.linalg.slogdet(jac)[1] for jac in dets)
        atol = 1e-6
        if np.isneginf(la) or not np.isclose(la, expected, rtol=rtol, atol=atol):
            tol = 0.1 * (atol + rtol * abs(lo if np.isfinite(lo) else la))
            names = [r.name for r in rewritten]
            if _rounding_sensitive(logp_o, orig_point, names, lo, tol):
                count("saturated")
                continue  # z saturated at a boundary: float64 cannot represent the point
        if np.isneginf(lo) or np.isneginf(la):
            raise AssertionError(f"-inf in one model only: original {lo}, aux {la} at {point}")
        np.testing.assert_allclose(la, expected, rtol=rtol, atol=atol, err_msg=str(point))
        finite += 1
        count("compared")
    return finite
