"""What :func:`~pymc_auxform.estimate_log_marginal` returns: the estimate and its diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Pareto k-hat above which an estimate and its se are unreliable.
KHAT_THRESHOLD = 0.7


class UnreliableEstimateWarning(UserWarning):
    """Pareto k-hat of the importance weights above 0.7: the estimate and its se are unreliable."""


@dataclass(frozen=True)
class LogMarginal:
    r"""A Monte Carlo estimate of :math:`\log p(x)`, with its diagnostics.

    Attributes
    ----------
    estimate : float
        :math:`\log \hat p(x)`.
    se : float
        Its standard error (delta method on the weights); NaN when ``khat > 0.7``.
    khat : float
        Pareto :math:`\hat k` of the weights (PSIS, ArviZ); the largest over points. Below 0.5
        the estimate is reliable; 0.5-0.7 usable; above 0.7 not.
    ess : float
        Kish effective sample size of the weights (the smallest over points; ``"smc"``: of the
        worst temperature step, in particles).
    method : str
    n_samples : int
        Draws (or SMC/AIS particles) per point.
    independent_dim : str or None
        The dim the estimate factorizes over (found automatically unless given).
    pointwise, pointwise_khat : ndarray or None
        Per-point estimates and k-hats when ``independent_dim`` is set.
    seconds : float
        Wall time of the estimate.
    runs : ndarray or None
        ``"smc"``: log Z of each independent run.

    Examples
    --------
    .. code-block:: python

        res = estimate_log_marginal(model, random_seed=0)
        print(f"log p(x) = {res.estimate:.2f} +/- {res.se:.2f} (k-hat {res.khat:.2f})")
        res.to_dataframe()
    """

    estimate: float
    se: float
    khat: float
    ess: float
    method: str
    n_samples: int
    independent_dim: str | None = None
    pointwise: np.ndarray | None = None
    pointwise_khat: np.ndarray | None = None
    seconds: float = np.nan
    runs: np.ndarray | None = None

    @property
    def reliable(self) -> bool:
        """Whether ``khat <= 0.7`` and no other check failed (the standard error can be trusted)."""
        return bool(self.khat <= KHAT_THRESHOLD and not np.isnan(self.se))

    def to_dataframe(self) -> pd.DataFrame:
        """One row (the total), or one row per point of ``independent_dim`` when set."""
        if self.pointwise is None:
            return pd.DataFrame(
                {"log_p": [self.estimate], "se": [self.se], "khat": [self.khat], "ess": [self.ess]},
                index=pd.Index([self.method], name="method"),
            )
        return pd.DataFrame(
            {"log_p": self.pointwise, "khat": self.pointwise_khat},
            index=pd.RangeIndex(len(self.pointwise), name=self.independent_dim),
        )

    def __repr__(self) -> str:
        per = f" over {self.independent_dim!r}" if self.independent_dim else ""
        return (
            f"LogMarginal({self.estimate:.4g} ± {self.se:.2g}, k-hat {self.khat:.2f}, "
            f"{self.method}{per}, {self.n_samples} draws, {self.seconds:.1f} s)"
        )

    def _repr_html_(self) -> str:
        row = {
            "log p(x)": self.estimate,
            "se": self.se,
            "k-hat": self.khat,
            "ESS": self.ess,
            "method": self.method,
            "independent dim": self.independent_dim,
            "draws": self.n_samples,
            "seconds": self.seconds,
        }
        return pd.Series(row, name="LogMarginal").to_frame().to_html()


__all__ = ["LogMarginal", "UnreliableEstimateWarning"]
