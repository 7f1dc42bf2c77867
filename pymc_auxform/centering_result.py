"""What :func:`~pymc_auxform.choose_centering` chose, per variable, and the numbers behind it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CenteringDecision:
    """The centering chosen for one variable, and the numbers behind it.

    Attributes
    ----------
    name : str
        The original variable.
    lam : float or ndarray
        The chosen :math:`\\lambda` (0 auxiliary, 1 centered), one per element for vector
        variables whose form supports partial centering.
    likelihood_info : ndarray
        Per element, the information the rest of the model (data, and latents left as they were)
        gives about the noise at the pilot point (where ``exact`` is False: the block's estimated
        mean, the same for every element).
    prior_info : float
        The Fisher information of the standard noise (1 for a standard Normal).
    partial : bool
        Whether the form supports partial centering; if not, ``lam`` is 0 or 1.
    distribution : str
        The variable's distribution.
    exact : bool
        Whether ``likelihood_info`` is the exact diagonal (a diagonal block) or an estimate (then
        one ``lam`` is chosen from its mean).
    rule : str
        Set when no information was needed: why ``lam`` is what it is.
    lam_at_mode : float or ndarray, optional
        Where the scale's posterior reach was measured: the :math:`\\lambda` chosen at the
        pilot's mode, before the reach (``lam`` is then chosen for the whole reach).
    reach : tuple of ndarray, optional
        The low and high end of the reach of each element's log scale, relative to the pilot's
        mode (see the module docstring of ``pymc_auxform.centering``).
    reach_at_least : bool
        Whether the search of the reach ended where a known part of it already took every
        element to 0 (a longer reach only lowers :math:`\\lambda`): ``reach`` is then a lower
        bound.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import choose_centering
        from pymc_auxform.reference_models import eight_schools

        d = choose_centering(eight_schools()).decisions["theta"]
        print(d.lam, d.ratio, d.why())
    """

    name: str
    lam: float | np.ndarray
    likelihood_info: np.ndarray
    prior_info: float
    partial: bool = True
    distribution: str = ""
    exact: bool = True
    rule: str = ""
    lam_at_mode: float | np.ndarray | None = None
    reach: tuple[np.ndarray, np.ndarray] | None = None
    reach_at_least: bool = False

    @property
    def ratio(self) -> np.ndarray:
        """Likelihood information over prior information, per element."""
        return self.likelihood_info / self.prior_info

    def why(self) -> str:
        """One line with the numbers behind the choice."""
        lam = np.atleast_1d(np.asarray(self.lam, dtype=float))
        if self.rule:
            return f"{self.rule}; lam = {_span(lam)}"
        r = np.atleast_1d(self.ratio)
        if not self.partial:
            rule = "1 if mean r/(1+r) > 1/2 else 0"
        else:
            rule = "r/(1+r)" if self.exact else "r/(1+r) of the block's mean r (estimated)"
        line = (
            f"info ratio r = {_span(r)} (likelihood {_span(np.atleast_1d(self.likelihood_info))}"
            f" / prior {self.prior_info:.3g}); lam = {rule}"
        )
        if self.reach is None:
            return f"{line} = {_span(lam)}"
        low, high = self.reach
        return (
            f"{line} = {_span(np.atleast_1d(self.lam_at_mode))} at the pilot's mode; its scale "
            f"reaches log-scale {'at least ' if self.reach_at_least else ''}{_span(low)} / "
            f"+{_span(high)} around it: lam for the whole reach (widths kept >= 3/4 of theirs "
            f"at the mode) = {_span(lam)}"
            + (" already there: the search ended" if self.reach_at_least else "")
        )


@dataclass
class CenteringChoice:
    """What :func:`choose_centering` chose, per variable, with the pilot it used.

    Attributes
    ----------
    decisions : dict of str to CenteringDecision
    iterations : int
        Fixed-point iterations (pilot modes) used.
    converged : bool
        Whether the last iteration changed no :math:`\\lambda` by more than ``tol``.
    seconds : float
        Wall time spent choosing (rewrite, compile, modes, Hessian-vector products).
    gradient_calls, hvp_calls : int
        Evaluations of the pilot's gradient (L-BFGS) and Hessian-vector products.
    failed : str
        Empty, or why the pilot failed (then the variables it decides are kept as written).

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, choose_centering
        from pymc_auxform.reference_models import eight_schools

        choice = choose_centering(eight_schools())
        print(choice)
        aux = auxify(eight_schools(), centering=choice.lam)
    """

    decisions: dict[str, CenteringDecision] = field(default_factory=dict)
    iterations: int = 0
    converged: bool = True
    seconds: float = 0.0
    gradient_calls: int = 0
    hvp_calls: int = 0
    failed: str = ""

    @property
    def lam(self) -> dict[str, float | np.ndarray]:
        """The chosen :math:`\\lambda` per variable, ready for ``auxify(..., centering=...)``."""
        return {name: d.lam for name, d in self.decisions.items()}

    def __str__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        head = (
            f"centering='auto': {len(self.decisions)} variables, {self.iterations} pilot "
            f"iterations ({state}), {self.gradient_calls} gradients + {self.hvp_calls} "
            f"Hessian-vector products, {self.seconds:.2f} s"
        )
        if self.failed:
            head += f"; pilot failed ({self.failed}): kept as written"
        return "\n".join([head, *(f"  {n}: {d.why()}" for n, d in self.decisions.items())])


def _span(x: np.ndarray) -> str:
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0:
        return "-"
    if x.size == 1 or np.allclose(x, x[0]):
        return f"{x[0]:.3g}"
    return f"[{x.min():.3g}..{x.max():.3g}] (median {np.median(x):.3g})"


__all__ = ["CenteringChoice", "CenteringDecision"]
