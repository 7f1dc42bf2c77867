"""The report of an :func:`~pymc_auxform.auxify` call: what was rewritten, how, and what was left."""

from __future__ import annotations

import weakref

from dataclasses import dataclass, field

import pymc as pm


@dataclass(frozen=True)
class Rewritten:
    """A variable that now lives in auxiliary form.

    Attributes
    ----------
    name : str
        The original variable, now a Deterministic of the noise.
    noise : tuple of str
        The new free (noise) variables it is computed from.
    form : str
        ``"affine"``, ``"scale"``, ``"log-affine"``, ``"icdf"``, ``"multivariate"``,
        ``"innovations"``, or ``"partial"`` (partially centered).
    distribution : str
        The original distribution.
    centering : str
        The centering ``lam`` used (``"0"`` is the full auxiliary form).
    note : str
        Anything worth knowing (e.g. the noise name was changed to avoid a clash).
    why : str
        With ``centering="auto"``: the numbers behind the chosen ``lam``.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, report
        from pymc_auxform.reference_models import eight_schools

        theta = next(r for r in report(auxify(eight_schools())).rewritten if r.name == "theta")
        theta.noise, theta.form, theta.distribution  # ('theta_eps',), 'affine', 'Normal'
    """

    name: str
    noise: tuple[str, ...]
    form: str
    distribution: str
    centering: str = "0"
    note: str = ""
    why: str = ""


@dataclass(frozen=True)
class Left:
    """A free variable left as it was, with the reason.

    Attributes
    ----------
    name : str
        The variable, unchanged in the new model.
    distribution : str
        Its distribution.
    reason : str
        Why it was not rewritten (discrete, already standard, no form, excluded, ...).
    why : str
        With ``centering="auto"``: the numbers behind leaving it centered.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify, report

        with pm.Model() as m:
            k = pm.Poisson("k", 3.0)
            z = pm.Normal("z", 0.0, 1.0)

        [(v.name, v.reason) for v in report(auxify(m)).left]  # why k and z were not rewritten
    """

    name: str
    distribution: str
    reason: str
    why: str = ""


@dataclass
class AuxReport:
    """What :func:`~pymc_auxform.auxify` did to a model; ``print(report)`` shows a table.

    Attributes
    ----------
    rewritten : list of Rewritten
    left : list of Left
    centering : CenteringChoice or None
        With ``centering="auto"``: the choice and all its numbers.

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, report
        from pymc_auxform.reference_models import eight_schools

        rep = report(auxify(eight_schools()))
        print(rep)  # one row per free variable
        rep.noise_names["theta"]  # ('theta_eps',)
        rep.all_noise_names  # ['mu_eps', 'tau_eps', 'theta_eps']
    """

    rewritten: list[Rewritten] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)
    centering: object = None

    @property
    def noise_names(self) -> dict[str, tuple[str, ...]]:
        """Map from each rewritten variable to the names of its noise variables."""
        return {r.name: r.noise for r in self.rewritten}

    @property
    def all_noise_names(self) -> list[str]:
        """Names of all noise variables, in the order of the original free variables."""
        return [n for r in self.rewritten for n in r.noise]

    def __str__(self) -> str:
        rows = [("variable", "distribution", "form", "lam", "noise / reason")]
        rows += [
            (r.name, r.distribution, r.form, r.centering, ", ".join(r.noise) + _note(r.note))
            for r in self.rewritten
        ]
        rows += [(lft.name, lft.distribution, "left", "-", lft.reason) for lft in self.left]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
            for row in rows
        ]
        head = f"auxify: {len(self.rewritten)} rewritten, {len(self.left)} left as they were"
        whys = [f"  {v.name}: {v.why}" for v in [*self.rewritten, *self.left] if v.why]
        why = ["why (centering='auto'):", *whys] if whys else []
        return "\n".join([head, lines[0], "-" * len(lines[0]), *lines[1:], *why])

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))


def _note(note: str) -> str:
    return f"  ({note})" if note else ""


_REPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def attach_report(model: pm.Model, report: AuxReport) -> None:
    """Record ``report`` as the :class:`AuxReport` of ``model`` (used by ``auxify``; weakly keyed).

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.report import AuxReport, attach_report, report

        with pm.Model() as m:
            pm.Normal("z")

        attach_report(m, AuxReport())
        report(m).rewritten  # []
    """
    _REPORTS[model] = report


def report(model: pm.Model) -> AuxReport:
    """Return the :class:`AuxReport` of a model made by :func:`~pymc_auxform.auxify`.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform import auxify, report

        with pm.Model() as m:
            mu = pm.Normal("mu", 0, 5)
            tau = pm.HalfCauchy("tau", 5)
            theta = pm.Normal("theta", mu, tau, shape=8)

        print(report(auxify(m)))
    """
    try:
        return _REPORTS[model]
    except (KeyError, TypeError):
        raise ValueError(
            "This model was not made by pymc_auxform.auxify, so it has no report. "
            "Call auxify(model) and pass its result."
        ) from None


__all__ = ["AuxReport", "Left", "Rewritten", "attach_report", "report"]
