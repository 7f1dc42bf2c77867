"""The report of an :func:`~pymc_auxform.auxify` call: what was rewritten, how, and what was left.

The report travels with what it describes. ``auxify`` wraps every rewritten variable's expression
in a no-op :class:`AuxformInfo` node that carries the report (so it survives ``pm.do``,
``pm.observe``, ``freeze_dims_and_data`` and pickling, which rebuild models from their graph), and
:func:`pymc_auxform.sample` / :func:`~pymc_auxform.original_trace` store it as JSON in a trace's
attrs under :data:`REPORT_ATTR` (so it survives a netcdf round trip). Compiled functions drop the
node: it costs nothing at run time.
"""

from __future__ import annotations

import json
import textwrap

from dataclasses import asdict, dataclass, field

import pandas as pd
import pymc as pm

from pytensor.compile.ops import TypeCastingOp
from pytensor.graph.basic import Apply
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.tensor.rewriting.basic import (
    register_canonicalize,
    register_infer_shape,
    register_useless,
)

REPORT_ATTR = "pymc_auxform_report"
"""Key of the report (as JSON) in the attrs of a trace of an auxified model."""

#: Columns of :meth:`AuxReport.to_dataframe`.
_COLUMNS = tuple("distribution form centering lam_min lam_max noise reason note why".split())


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
        With an automatic centering choice: the numbers behind the chosen ``lam``.
    lam_min, lam_max : float
        The smallest and largest centering ``lam`` over the variable's elements.

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
    lam_min: float = 0.0
    lam_max: float = 0.0


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
        With an automatic centering choice: the numbers behind leaving it centered.

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
        With an automatic centering choice: the choice and all its numbers (kept in memory
        only; the JSON form keeps the per-variable ``why`` lines).

    Examples
    --------
    .. code-block:: python

        from pymc_auxform import auxify, report
        from pymc_auxform.reference_models import eight_schools

        rep = report(auxify(eight_schools()))
        print(rep)  # one row per free variable
        rep.noise_names["theta"]  # ('theta_eps',)
        rep.all_noise_names  # ['mu_eps', 'tau_eps', 'theta_eps']
        rep.to_dataframe()  # the same table as a pandas DataFrame
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

    def to_dataframe(self) -> pd.DataFrame:
        """One row per free variable of the original model, indexed by its name.

        Columns: ``distribution``, ``form`` (``"left"`` for variables left as they were),
        ``centering`` (text), ``lam_min`` and ``lam_max`` (numbers; NaN for variables left),
        ``noise`` (comma-separated names), ``reason`` (why it was left), ``note`` and ``why``.
        """
        nan = float("nan")
        rows = [
            (
                r.name,
                r.distribution,
                r.form,
                r.centering,
                float(r.lam_min),
                float(r.lam_max),
                ", ".join(r.noise),
                "",
                r.note,
                r.why,
            )
            for r in self.rewritten
        ]
        rows += [
            (v.name, v.distribution, "left", "-", nan, nan, "", v.reason, "", v.why)
            for v in self.left
        ]
        return pd.DataFrame(rows, columns=["variable", *_COLUMNS]).set_index("variable")

    def to_json(self) -> str:
        """The report as JSON (without the in-memory ``centering`` object)."""
        return json.dumps(
            {
                "rewritten": [asdict(r) for r in self.rewritten],
                "left": [asdict(v) for v in self.left],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AuxReport:
        """Read a report written by :meth:`to_json`."""
        data = json.loads(text)
        rewritten = [Rewritten(**{**r, "noise": tuple(r["noise"])}) for r in data["rewritten"]]
        return cls(rewritten, [Left(**v) for v in data["left"]])

    def _table(self) -> pd.DataFrame:
        table = self.to_dataframe()
        shown = table["noise"].where(table["form"] != "left", table["reason"])
        notes = table["note"].map(lambda n: f" ({n})" if n else "")
        return table[["distribution", "form", "centering"]].assign(
            **{"noise / reason": shown + notes}
        )

    def __str__(self) -> str:
        head = f"auxify: {len(self.rewritten)} rewritten, {len(self.left)} left as they were"
        if not (self.rewritten or self.left):
            return head
        table = self._table()
        widths = {col: int(table[col].str.len().max()) for col in table.columns}
        left_aligned = {col: (lambda x, w=widths[col]: x.ljust(w)) for col in table.columns}
        body = "\n".join(
            line.rstrip()
            for line in table.to_string(justify="left", formatters=left_aligned).split("\n")
        )
        whys = [
            textwrap.fill(f"{v.name}: {v.why}", 88, initial_indent="  ", subsequent_indent="    ")
            for v in [*self.rewritten, *self.left]
            if v.why
        ]
        why = ["why (centering='auto'):", *whys] if whys else []
        return "\n".join([head, body, *why])

    def __repr__(self) -> str:
        return (
            f"AuxReport(rewritten={[r.name for r in self.rewritten]}, "
            f"left={[v.name for v in self.left]})"
        )

    def _repr_html_(self) -> str:
        head = f"<p>auxify: {len(self.rewritten)} rewritten, {len(self.left)} left as they were</p>"
        return head + self._table().to_html()

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))


class AuxformInfo(TypeCastingOp):
    """A no-op node around each rewritten variable's expression that carries the report.

    It is the identity (PyTensor removes it when it compiles a function), so the model's math is
    unchanged; it lets :func:`report` find the report of any model rebuilt from the graph of an
    auxified one. It is not a ``ViewOp``, which PyMC's model transforms inline away.
    """

    __props__ = ("name",)

    def __init__(self, name: str, report_json: str = ""):
        self.name = name
        self.report_json = report_json  # not a prop: set once, after the whole rewrite

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def infer_shape(self, node, input_shapes):
        return input_shapes

    def pullback(self, inputs, outputs, output_grads):
        return output_grads

    def __str__(self) -> str:
        return f"AuxformInfo{{{self.name}}}"


@register_infer_shape
@register_canonicalize("fast_compile")
@register_useless("fast_compile")
@node_rewriter([AuxformInfo])
def _drop_auxform_info(fgraph, node):
    """Compiled functions do not need the report: remove the identity."""
    return node.inputs


def attach_report(model: pm.Model, report: AuxReport) -> None:
    """Record ``report`` on ``model`` and on every :class:`AuxformInfo` node of its graph.

    Examples
    --------
    .. code-block:: python

        import pymc as pm
        from pymc_auxform.reporting import AuxReport, attach_report, report

        with pm.Model() as m:
            pm.Normal("z")

        attach_report(m, AuxReport())
        report(m).rewritten  # []
    """
    text = report.to_json()
    for op in _info_ops(model):
        op.report_json = text
    model._auxform_report = report


def find_report(obj) -> AuxReport | None:
    """The report of a model made by ``auxify`` or of a trace of one, or ``None``."""
    import xarray as xr

    if isinstance(obj, xr.DataTree):
        for node in (obj, *(obj[g] for g in ("posterior", "prior") if g in obj.children)):
            if REPORT_ATTR in node.attrs:
                return AuxReport.from_json(node.attrs[REPORT_ATTR])
        return None
    if not isinstance(obj, pm.Model):
        raise TypeError(f"expected a pymc.Model or a trace (DataTree), got {type(obj).__name__}.")
    found = getattr(obj, "_auxform_report", None)
    if found is not None:
        return found
    texts = {op.report_json for op in _info_ops(obj) if op.report_json}
    if not texts:
        return None
    found = AuxReport.from_json(max(texts, key=len))
    obj._auxform_report = found
    return found


def report(model=None) -> AuxReport:
    """Return the :class:`AuxReport` of a model made by :func:`~pymc_auxform.auxify`.

    Parameters
    ----------
    model : pm.Model or xarray.DataTree, optional
        An auxified model (also after ``pm.do``, ``pm.observe``, ``freeze_dims_and_data`` or a
        pickle round trip), or a trace made by :func:`pymc_auxform.sample` /
        :func:`~pymc_auxform.original_trace` (also after a netcdf round trip). Taken from the
        ``with model:`` context if omitted.

    Raises
    ------
    ValueError
        If the model (or trace) was not made by ``auxify``.

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
    if model is None:
        model = pm.modelcontext(None)
    found = find_report(model)
    if found is None:
        what = "model" if isinstance(model, pm.Model) else "trace"
        raise ValueError(
            f"This {what} was not made by pymc_auxform.auxify, so it has no report. "
            "Call auxify(model) (or pymc_auxform.sample) and pass its result."
        )
    return found


def _info_ops(model: pm.Model) -> list[AuxformInfo]:
    ops = []
    for var in model.deterministics:
        owner = var.owner
        if owner is not None and isinstance(owner.op, AuxformInfo):
            ops.append(owner.op)
    return ops


__all__ = [
    "REPORT_ATTR",
    "AuxReport",
    "AuxformInfo",
    "Left",
    "Rewritten",
    "attach_report",
    "find_report",
    "report",
]
