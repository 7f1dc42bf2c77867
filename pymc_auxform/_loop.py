"""The iteration loop shared by the learning methods: progress bar (compile and tuning phases,
objective, acceptance, divergences), callback, tolerance, checkpoints and Ctrl-C.
"""

from __future__ import annotations

import time
import warnings

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pymc as pm

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pymc_auxform._theta import check_int, param_names, refuse_pymc_minibatch, resolve_mode
from pymc_auxform.em_result import EMProgress, EMResult, History, warn_if_not_stationary


class LearningProgress:
    """A rich progress display: one line per phase (compile, tune), then the iterations."""

    def __init__(self, enabled: bool, title: str):
        self.title = title
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            disable=not enabled,
        )
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    @contextmanager
    def phase(self, name: str):
        """An indeterminate line while ``name`` runs (compiling, tuning), marked done after."""
        task = self.bar.add_task(f"{self.title}: {name}", total=None, info="")
        t0 = time.perf_counter()
        yield
        self.bar.update(task, total=1, completed=1, info=f"{time.perf_counter() - t0:.1f} s")

    def start(self, total: int) -> None:
        self.task = self.bar.add_task(self.title, total=total, info="")

    def advance(self, objective: float, stats: dict) -> None:
        info = f"objective {objective:.5g}"
        if "accept" in stats:
            info += f" | accept {stats['accept']:.2f} | divergences {stats['divergences']}"
        self.bar.update(self.task, advance=1, info=info)


@dataclass
class LoopOptions:
    """The user's loop options (validated by the caller)."""

    n_iter: int
    callback: Callable | None = None
    tol: float | None = None
    patience: int = 20
    checkpoint_every: int | None = None
    checkpoint_path: str | None = None
    anneal: bool = True


def run_iterations(
    one_iteration: Callable[[], tuple[float, list, dict, float, float]],
    hist: History,
    theta,
    opts: LoopOptions,
    progress: LearningProgress,
    make_result: Callable[[bool, bool], object],
    model,
) -> tuple[bool, bool]:
    """Run ``opts.n_iter`` iterations; return ``(converged, interrupted)``.

    ``one_iteration()`` returns (objective, gradients, stats, e seconds, m seconds). Ctrl-C
    (KeyboardInterrupt, also raised from a callback) stops the loop with a warning and the
    partial history kept.
    """
    progress.start(opts.n_iter)
    running = []
    try:
        for i in range(opts.n_iter):
            theta.anneal(i / opts.n_iter if opts.anneal else None)
            objective, grads, stats, e_time, m_time = one_iteration()
            hist.add(objective, theta.values(), grads, stats, e_time, m_time)
            running = [*running[-9:], objective]
            progress.advance(float(np.mean(running)), stats)
            if opts.checkpoint_every and hist.n % opts.checkpoint_every == 0:
                make_result(False, False).save(opts.checkpoint_path)
            if opts.tol is not None and hist.flat(opts.tol, opts.patience):
                return True, False
            if opts.callback is not None and opts.callback(
                EMProgress(hist.n, objective, hist.current(), model)
            ):
                break
    except KeyboardInterrupt:
        warnings.warn(
            f"Interrupted after {hist.n} iterations: returning the partial result "
            "(result.interrupted is True; continue with resume_from=result).",
            UserWarning,
            stacklevel=3,
        )
        return False, True
    return False, False


def check_loop_options(opts: LoopOptions) -> None:
    if opts.tol is not None and not opts.tol > 0:
        raise ValueError(f"tol must be positive or None, got {opts.tol!r}.")
    if opts.checkpoint_every is not None:
        if not isinstance(opts.checkpoint_every, int) or opts.checkpoint_every < 1:
            raise ValueError(
                f"checkpoint_every must be an integer >= 1, got {opts.checkpoint_every!r}."
            )
        if opts.checkpoint_path is None:
            raise ValueError("checkpoint_every needs checkpoint_path (where to write).")


@dataclass
class RunSetup:
    """What a learning function needs before compiling: the model, the parameter names, the
    validated loop options, the run to resume, the generator and the PyTensor mode."""

    model: pm.Model
    names: list[str]
    opts: LoopOptions
    previous: EMResult | None
    rng: np.random.Generator
    mode: str


def resolve_model(fname: str, model, params) -> tuple[pm.Model, object]:
    """``(model, params)``, the model from the ``with model:`` context when not given.

    ``f(model, params)``, ``f(params=...)`` and ``f(params)`` (a name, variable or list of them
    as the first argument, inside ``with model:``) are all accepted.
    """
    if params is None and model is not None and not isinstance(model, pm.Model):
        model, params = None, model
    if params is None:
        raise TypeError(f"{fname} needs params: the pm.Data (names or variables) to learn.")
    model = pm.modelcontext(model)
    if not isinstance(model, pm.Model):
        raise TypeError(f"{fname} expects a pymc.Model, got {type(model).__name__}.")
    return model, params


def setup_run(
    fname: str,
    model,
    params,
    opts: LoopOptions,
    *,
    learning_rate: float,
    resume_from,
    random_seed,
    mode: str | None,
    **ints: tuple[int, int],
) -> RunSetup:
    """Validate a learning function's common arguments (``ints``: ``name=(value, lowest)``)."""
    model, params = resolve_model(fname, model, params)
    names = param_names(model, params)
    check_int(n_iter=(opts.n_iter, 0), patience=(opts.patience, 1), **ints)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}.")
    check_loop_options(opts)
    refuse_pymc_minibatch(model)
    previous = None
    if resume_from is not None:
        previous = resume_from if isinstance(resume_from, EMResult) else EMResult.load(resume_from)
        if list(previous.params) != names:
            raise ValueError(
                f"resume_from learned {list(previous.params)}, but params are {names}; "
                "resume with the same params."
            )
    return RunSetup(
        model, names, opts, previous, np.random.default_rng(random_seed), resolve_mode(mode)
    )


def run_to_end(
    setup: RunSetup,
    one_iteration: Callable[[], tuple[float, list, dict, float, float]],
    hist: History,
    theta,
    progress: LearningProgress,
    make_result: Callable[[bool, bool], EMResult],
    work: pm.Model,
) -> EMResult:
    """Run the iterations, write the final theta into the user's ``pm.Data`` (also after an
    error), and return the result, warned about when it ends far from a stationary point."""
    try:
        converged, interrupted = run_iterations(
            one_iteration, hist, theta, setup.opts, progress, make_result, work
        )
    finally:
        for n, value in theta.values().items():
            setup.model[n].set_value(value)
    result = make_result(converged, interrupted)
    if not interrupted:
        warn_if_not_stationary(result)
    return result


__all__ = [
    "LearningProgress",
    "LoopOptions",
    "RunSetup",
    "check_loop_options",
    "resolve_model",
    "run_iterations",
    "run_to_end",
    "setup_run",
]
