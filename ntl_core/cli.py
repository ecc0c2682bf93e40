"""``python -m ntl_core train …``: check the NTL hypothesis on several seeds from the shell.

Example::

    python -m ntl_core train --task addition --digits 2 --losses ce,was,mse --seeds 0,1,2 --steps 1500 --out runs/add2

prints, per metric and split, mean ± 95 % CI across seeds and the paired difference against CE;
``--json`` prints one JSON object instead (progress bars go to stderr).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import transformers

from labkit.cli_args import add_progress_flag, check_jobs, int_at_least, parse_seeds
from labkit.device import pick_device
from labkit.out_dir import check_out, staged_out
from labkit.strict_json import jsonable
from labkit.workers import WorkerError
from ntl_core.deepmind import DIFFICULTIES, TASK_PREFIX
from ntl_core.comparison import METRICS, run_comparison, summarize
from ntl_core.models import MODEL_PRESETS
from ntl_core.objectives import LOSSES
from ntl_core.presets import DEFAULT_PRESET, PRESET_INFO
from ntl_core.train_config import TASKS, TrainConfig
from ntl_core.verdict import compare
from ntl_core.trainer import TqdmCallback


def _loss_list(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in LOSSES]
    if not values or bad:
        raise argparse.ArgumentTypeError(f"unknown loss(es) {bad or text!r}; choose from {','.join(LOSSES)}")
    return list(dict.fromkeys(values))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ntl_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train losses × seeds and compare them")
    presets = sub.add_parser("presets", help="list the presets with the claim each carries")
    presets.add_argument("--json", action="store_true",
                         help='one JSON list of {"id", "label", "config", "headline_metric", "expected", …}')
    train.add_argument("--preset", choices=list(PRESET_INFO), default=DEFAULT_PRESET,
                       help="start from a named preset (flags below override its fields, losses and seeds)")
    train.add_argument("--task", choices=TASKS)
    train.add_argument("--digits", type=int)
    train.add_argument("--difficulty", choices=list(DIFFICULTIES),
                       help="training difficulty of a dm: task (the generator's thirds of its range, or all)")
    train.add_argument("--reverse", action=argparse.BooleanOptionalAction, default=None,
                       help="write answers least significant digit first (default: on)")
    train.add_argument("--model", choices=list(MODEL_PRESETS))
    train.add_argument("--losses", type=_loss_list, help="comma-separated, from " + ",".join(LOSSES)
                       + " (default: the preset's)")
    train.add_argument("--seeds", type=parse_seeds, help="0,1,2 or 0-4 (default: the preset's)")
    train.add_argument("--steps", type=int_at_least(1), help="optimiser steps per run (default: the preset's budget)")
    train.add_argument("--lr", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--ntl-weight", type=float, help="λ in CE + λ·NTL")
    train.add_argument("--reweigh", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--train-size", type=int, help="fixed training set of N pairs cycled for epochs (0: fresh pairs)")
    train.add_argument("--grad-clip", type=float, help="gradient-norm clip (0: off)")
    train.add_argument("--eval-every", type=int)
    train.add_argument("--eval-size", type=int)
    train.add_argument("--data-path", help="task 'file': DeepMind-Mathematics-style training .txt")
    train.add_argument("--interpolation-path")
    train.add_argument("--extrapolation-path")
    train.add_argument("--device", default="auto")
    train.add_argument("--json", action="store_true", help="print one JSON object with per-seed and summary numbers")
    train.add_argument("--out", type=Path, help="write run directories <loss>-seed<k>/ and summary.json here")
    train.add_argument("--overwrite", action="store_true", help="replace a non-empty --out as a whole")
    train.add_argument("--no-weights", action="store_true",
                       help="write histories and summary only, no checkpoints (small, e.g. for the lab's gallery)")
    train.add_argument("--jobs", type=int, default=1, help="runs at once, each in its own worker process")
    train.add_argument("--ray", metavar="ADDRESS",
                       help="run every (loss, seed) as a Ray actor on this cluster ('auto', 'ray://head:10001'); "
                            "needs the 'ray' package")
    add_progress_flag(train)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The shared base config: the preset's, overridden by the given flags."""
    base = PRESET_INFO[args.preset].config
    fields = {"task": args.task, "digits": args.digits, "reverse": args.reverse, "model": args.model,
              "lr": args.lr, "batch_size": args.batch_size, "ntl_weight": args.ntl_weight, "reweigh": args.reweigh,
              "eval_every": args.eval_every, "eval_size": args.eval_size, "data_path": args.data_path,
              "interpolation_path": args.interpolation_path, "extrapolation_path": args.extrapolation_path,
              "device": args.device, "steps": args.steps, "train_size": args.train_size, "grad_clip": args.grad_clip,
              "difficulty": args.difficulty}
    if args.task and args.task.startswith(TASK_PREFIX) and args.train_size is None:
        fields["train_size"] = 0  # a preset's fixed arithmetic set size means nothing here: the generated 50,000
    return base.replace(**{k: v for k, v in fields.items() if v is not None})


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _fmt(stat: dict, key: str = "mean") -> str:
    mean, ci = stat[key], stat["ci95"]
    if not _finite(mean):
        return "n/a"
    return f"{mean:.3f} ± {ci:.3f}" if _finite(ci) else f"{mean:.3f}"


def format_table(report: dict) -> str:
    """Human-readable summary: one block per split, one row per metric, one column per loss."""
    summary, paired = report["summary"], report["paired_vs_ce"]
    losses = list(summary)
    lines = [f"{len(report['seeds'])} seed(s), {report['steps']} steps; mean ± 95 % CI across seeds"]
    for split in next(iter(summary.values())):
        lines += ["", f"[{split}]", f"{'metric':<12}" + "".join(f"{loss:>22}" for loss in losses)]
        for m in METRICS:
            lines.append(f"{m:<12}" + "".join(f"{_fmt(summary[loss][split][m]):>22}" for loss in losses))
        for loss, per_split in paired.items():
            lines.append(f"paired {loss} − ce:")
            for m in METRICS:
                p = per_split[split][m]
                pv = "" if not _finite(p["p_value"]) else f", p = {p['p_value']:.3f}"
                lines.append(f"  {m:<10} {_fmt(p, 'mean_diff'):>20}  (better on {p['wins']}/{p['n']} seeds{pv})")
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> int:
    base = config_from_args(args)
    pick_device(base.device)  # a bad --device fails here, not after the first run
    check_jobs(args.jobs, on_cluster=bool(args.ray))
    if args.out is None:
        return _train_and_report(args, base, None)
    check_out(args.out, args.overwrite)
    with staged_out(args.out) as stage:
        return _train_and_report(args, base, stage)


def _train_and_report(args: argparse.Namespace, base: TrainConfig, out: Path | None) -> int:
    preset = PRESET_INFO[args.preset]
    losses, seeds = args.losses or list(preset.losses), args.seeds or list(preset.seeds)
    progress = (lambda cfg: []) if args.quiet else (
        lambda cfg: [TqdmCallback(cfg.steps, desc=f"{cfg.loss} seed {cfg.seed}")])
    backend = "ray" if args.ray else "process" if args.jobs > 1 else "inprocess"
    jobs = len(losses) * len(seeds) if args.ray and args.jobs == 1 else args.jobs  # on Ray the cluster decides
    done = (lambda r: None) if args.quiet or backend == "inprocess" else (
        lambda r: print(f"done: {r.loss} seed {r.seed} ({r.steps_per_second:.1f} steps/s)", file=sys.stderr))
    results = run_comparison(base, losses, seeds, base.steps, out=out, callbacks=progress,
                             backend=backend, jobs=jobs, ray_address=args.ray, on_result=done,
                             weights=not args.no_weights)
    verdict = compare({(r.loss, r.seed): r.history for r in results}, preset.headline_metric)
    report = jsonable({"config": base.to_dict(), "losses": losses, "seeds": seeds, "steps": base.steps,
                      "preset": {k: v for k, v in preset.to_json().items() if k != "config"},
                      "verdict": {"step": verdict.step, "box": verdict.box,
                                  "losses": {v.loss: {"outcome": v.outcome, "mean_diff": v.diff, "ci95": v.ci95,
                                                      "n": v.n, "wins": v.wins} for v in verdict.losses},
                                  "lines": list(verdict.lines)},
                      "runs": [{"loss": r.loss, "seed": r.seed, "final": r.final, "steps": r.steps,
                                "train_seconds": r.train_seconds, "steps_per_second": r.steps_per_second}
                               for r in results],
                      **summarize(results)})
    if out is not None:
        (out / "summary.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report) + f"\n\nverdict on {preset.headline_metric} (preset {preset.id}, expected: "
              f"{preset.expected or 'not measured'}):\n" + "\n".join(verdict.lines))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    rows = [p.to_json() for p in PRESET_INFO.values()]
    if args.json:
        print(json.dumps(jsonable(rows)))
    else:
        for p in rows:
            print(f"{p['id']:<20} {p['label']}\n{'':<20} headline {p['headline_metric']}, expected "
                  f"{p['expected'] or 'not measured'} ({p['evidence']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    transformers.logging.disable_progress_bar()  # one bar per run (ours) is enough on a terminal
    try:
        return cmd_presets(args) if args.command == "presets" else cmd_train(args)
    except ValueError as err:  # bad config or device, unreadable data file, diverged loss, unusable --out
        print(f"error: {err}", file=sys.stderr)
        return 2
    except WorkerError as err:  # a worker process or Ray actor crashed (out of memory, node lost)
        print(f"error: a training worker failed ({err})", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. the disk filled up while writing the runs
        print(f"error: {err.strerror or err}" + (f": {err.filename}" if err.filename else ""), file=sys.stderr)
        return 2
