"""The compile CLI's program options: --optimize, its budget and judge, --program, --save-program.

Kept apart from compile.py so the CLI only wires three calls: add the arguments, check them
before any LM call, and hand the run a ready program.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foveate_dspy import json_safe
from foveate_dspy.optimize.teleprompt import HEURISTIC_JUDGE, OPTIMIZERS, OptimizeSettings

if TYPE_CHECKING:
    from collections.abc import Iterable

    import dspy

    from foveate_dspy.corpus.readers import Article
    from foveate_dspy.optimize.gate import SyncGate
    from foveate_dspy.runtime.runner import RunSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("program optimisation")
    group.add_argument(
        "--optimize",
        choices=OPTIMIZERS,
        help="first compile the program with a DSPy teleprompter on a train split of the corpus: bootstrap "
        "(BootstrapFewShot demos), mipro (MIPROv2: instructions and demos) or gepa (GEPA: reflective "
        "instruction evolution)",
    )
    group.add_argument("--optimize-train", type=int, default=4, help="articles in the train split (default 4; as many more are held out)")
    group.add_argument("--optimize-n", type=int, default=2, help="instructions per level per article while optimising (default 2)")
    group.add_argument("--optimize-max-calls", type=int, default=32, help="metric calls the teleprompter may make (default 32)")
    group.add_argument("--optimize-demos", type=int, default=2, help="bootstrapped demos per predictor at most (default 2)")
    group.add_argument(
        "--optimize-lm", help="model that proposes instructions (MIPROv2's prompt model, GEPA's reflection LM); default: the teacher"
    )
    group.add_argument("--optimize-lm-api-base", help="endpoint for --optimize-lm")
    group.add_argument(
        "--judge", help="model judging grounding and difficulty for the metric; default: a deterministic offline heuristic"
    )
    group.add_argument("--judge-api-base", help="endpoint for --judge")
    group.add_argument("--program", help="load a saved program (JSON from --save-program) instead of the default prompts")
    group.add_argument("--save-program", help="write the program used for the run to this .json file (no LMs or keys)")


def check_arguments(args: argparse.Namespace) -> str | None:
    """Why the program options are unusable, or None; called before any LM call."""
    from foveate_dspy.teachers.model_strings import TeacherError, check_teacher

    for flag, value in (
        ("--optimize-train", args.optimize_train),
        ("--optimize-n", args.optimize_n),
        ("--optimize-max-calls", args.optimize_max_calls),
    ):
        if value < 1:
            return f"{flag} must be >= 1, got {value}"
    if args.optimize == "mipro" and importlib.util.find_spec("optuna") is None:
        return "--optimize mipro needs Optuna (MIPROv2 searches with it): pip install optuna"
    if args.optimize_demos < 0:
        return f"--optimize-demos must be >= 0, got {args.optimize_demos}"
    if args.program and not Path(args.program).is_file():
        return f"{args.program}: no such program file"
    if args.save_program:
        target = Path(args.save_program)
        if target.suffix != ".json":
            return f"{target}: --save-program needs a .json path"
        if not target.parent.is_dir():
            return f"{target.parent}: the directory for --save-program does not exist"
    for flag, model, api_base in (
        ("--optimize-lm", args.optimize_lm, args.optimize_lm_api_base),
        ("--judge", args.judge, args.judge_api_base),
    ):
        try:
            if model:
                check_teacher(model, api_base)
        except TeacherError as exc:
            return f"{flag}: {exc}"
    return None


RUN_PROGRAM = "program.json"  # the optimised program, saved in the run directory
RUN_REPORT = "optimization.json"  # its before/after metric and cost


def prepare(
    args: argparse.Namespace, settings: RunSettings, articles: Iterable[Article], out_dir: Path, gate: SyncGate | None = None
) -> dspy.Module:
    """The program the run will use: built from the settings, loaded from --program, optimised
    with --optimize, saved to --save-program. Raises OptimizeError on unusable files/settings.

    An optimised program is also saved as RUN_DIR/program.json with RUN_DIR/optimization.json.
    Re-running the same command on a run directory that holds a run store (a resume) loads
    that program instead of optimising again, so a resume neither pays for a second
    optimisation nor, with a sampling teacher, ends up with a different program than the
    articles already done.

    `gate` (optimize_gate.SyncGate, from the runner, once the run directory is locked) puts the
    optimisation's LM calls under the run's limits, pacing, retries and call ledger."""
    from foveate_dspy.method.choice import build_program
    from foveate_dspy.optimize.teleprompt import load_program, save_program

    program = build_program(settings)
    about: dict[str, Any] = {"method": settings.method, "levels": list(settings.levels)}
    if args.program:
        about = {**about, **load_program(program, args.program, settings.method)}
    if args.optimize:
        # The optimiser splits the corpus by seed, so it reads it as a list; a run streams it.
        program, about = _optimized(args, settings, list(articles), program, out_dir, gate)
    if args.save_program:
        save_program(program, args.save_program, about)
    return program


def _fingerprint(args: argparse.Namespace, settings: RunSettings) -> str:
    """A digest of what decides the optimised program, compared before reusing a saved one on
    resume. A digest, because program files carry no model names."""
    material = {
        **asdict(_optimize_settings(args, settings)),
        "teacher": settings.teacher,
        "method": settings.method,
        "levels": list(settings.levels),
        "judge": args.judge or "offline",
        "optimize_lm": args.optimize_lm or settings.teacher,
        "started_from": args.program,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _optimize_settings(args: argparse.Namespace, settings: RunSettings) -> OptimizeSettings:
    return OptimizeSettings(
        optimizer=args.optimize,
        train_size=args.optimize_train,
        n=args.optimize_n,
        max_calls=args.optimize_max_calls,
        demos=args.optimize_demos,
        seed=settings.seed,
    )


def _optimized(
    args: argparse.Namespace, settings: RunSettings, articles: list[Article], program: dspy.Module, out_dir: Path, gate: SyncGate | None
) -> tuple[dspy.Module, dict[str, Any]]:
    from foveate_dspy.method.choice import build_program
    from foveate_dspy.optimize.teleprompt import load_program, save_program
    from foveate_dspy.runtime.store import STORE_NAME

    fingerprint = _fingerprint(args, settings)
    saved = out_dir / RUN_PROGRAM
    if not getattr(args, "force_new", False) and (out_dir / STORE_NAME).exists() and saved.is_file():
        fresh = build_program(settings)
        about = load_program(fresh, saved, settings.method)
        if about.get("optimize_fingerprint") == fingerprint:
            print(f"resuming: using the program optimised earlier ({saved}), not optimising again", file=sys.stderr)
            return fresh, about
    optimized, report = _optimize(args, settings, articles, program, gate)
    about = {
        "method": settings.method,
        "levels": list(settings.levels),
        "optimize_fingerprint": fingerprint,
        "optimization": {  # the full report, judge model included, is RUN_DIR/optimization.json
            "optimizer": report.optimizer,
            "metric_before": report.metric_before,
            "metric_after": report.metric_after,
            "eval_split": report.eval_split,
            "judge": "heuristic" if report.judge == HEURISTIC_JUDGE else "lm",
        },
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    save_program(optimized, saved, about)
    (out_dir / RUN_REPORT).write_text(json_safe.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return optimized, about


def _optimize(args: argparse.Namespace, settings: RunSettings, articles: list[Article], program: dspy.Module, gate: SyncGate | None):
    from foveate_dspy.runtime.call_ledger import JUDGE, OPTIMIZE
    from foveate_dspy.teachers.model_strings import OFFLINE, build_lm
    from foveate_dspy.optimize.teleprompt import (
        HeuristicJudge,
        LMJudge,
        OptimizeError,
        describe,
        optimize_program,
    )
    from foveate_dspy.optimize.gate import gated
    from foveate_dspy.method.resynthesis import CREATIVE_LM
    from foveate_dspy.teachers.sampling import CREATIVE_CONFIG
    from foveate_dspy.teachers.settings import build_teachers

    lm_options = {"cache": settings.cache, "max_tokens": settings.max_tokens, "embedder": settings.embedder}
    teacher, creative, creative_settings = build_teachers(settings)
    teacher = gated(teacher, OPTIMIZE)
    CREATIVE_LM.set(gated(creative, OPTIMIZE) if creative is not None else None)
    CREATIVE_CONFIG.set(creative_settings)
    if args.optimize_lm:
        proposer = build_lm(args.optimize_lm, {"temperature": 1.0}, args.optimize_lm_api_base, **lm_options)
    else:
        proposer = build_lm(settings.teacher, {"temperature": 1.0}, settings.api_base, **lm_options)
    proposer = gated(proposer, OPTIMIZE)
    if proposer.model.startswith(OFFLINE):
        from foveate_dspy.optimize import offline_stand_ins  # noqa: F401  (teaches the offline teacher to propose)
    if args.judge and args.judge != OFFLINE:
        judge = LMJudge(gated(build_lm(args.judge, {"temperature": 0.0}, args.judge_api_base, **lm_options), JUDGE))
    else:
        judge = HeuristicJudge()
    from foveate_dspy.teachers.adapters import build_adapter
    from foveate_dspy.runtime.runner import settle_output_mode

    print(f"optimising the {settings.method} program with {args.optimize} (judge: {judge.label})…", file=sys.stderr)
    with gate.active() if gate is not None else contextlib.nullcontext():
        # The probe goes through the gated teacher: admitted, paced and in the ledger like the rest.
        chosen = settle_output_mode(settings, teacher, lambda message: print(f"note: {message}", file=sys.stderr))
        adapter = build_adapter(chosen.mode, chosen.form)
        optimized, report = optimize_program(program, articles, _optimize_settings(args, settings), teacher, proposer, judge, adapter)
    if gate is not None and gate.limits.stopped:
        # The teleprompter may carry on past refused calls; a program optimised that way is not kept.
        raise OptimizeError(
            f"{gate.limits.stopped} while optimising; the optimisation's calls and replies are kept in the run's store. "
            "Raise the limit (it counts the whole run, optimisation included) and run again: the requests already "
            "paid for are answered from the store"
        )
    if gate is not None and gate.replayed:
        print(f"note: {gate.replayed} optimisation requests were answered from replies an earlier session paid for", file=sys.stderr)
    print(describe(report), file=sys.stderr)
    return optimized, report
