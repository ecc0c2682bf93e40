"""Command line.

One run: ``python -m qcbnn_core train --data phantom --model qcbnn --epochs 30 --seed 0 [--json] [--out DIR]``.
A comparison over seeds (several models and/or ``--seeds``): ``python -m qcbnn_core train --model
qcbnn,mlp,bnn,cnn --seeds 0,1,2,3,4 --jobs 2 [--json]`` prints per-model means with 95 % CIs and paired
differences against the BNN (:mod:`qcbnn_core.study`), and the wall time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from labkit.cli_args import add_progress_flag, check_jobs, int_at_least, parse_seed, parse_seeds, usable_cpus
from labkit.device import pick_device
from labkit.out_dir import check_out, staged_out
from labkit.strict_json import jsonable
from labkit.workers import WorkerError

from .ansatz import DEFAULT_PRESET, PRESETS
from .data import DATA_CHOICES, DEFAULT_DATA
from .metrics import Evaluation
from .models import MECHANISMS, MODEL_KINDS
from .runs import save_run
from .study import RunSpec, format_summary, load_data, parse_spec, run_many, summarize
from .trainer import TqdmCallback, TrainConfig, Trainer

DEFAULT_BASELINE = "bnn"  # the classical Bayesian network with the same layers: what "quantum" is compared with


def _digits(text: str) -> tuple[int, int]:
    try:
        a, b = (int(t) for t in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--digits must look like 3,8, got {text!r}") from exc
    return a, b


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qcbnn_core", description="Quantum-classical Bayesian NN experiments.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one model and print its test metrics")
    t.add_argument("--data", default=DEFAULT_DATA, help=f"one of {', '.join(DATA_CHOICES)} or a path to breastmnist.npz")
    t.add_argument("--digits", type=_digits, default=(3, 8), help="the two digits for --data digits (default 3,8)")
    t.add_argument("--model", default="qcbnn",
                   help=f"comma-separated model specs kind[:ansatz[:mechanism]], kind in {', '.join(MODEL_KINDS)} "
                        "(e.g. qcbnn,qcbnn:ry_cnot,qcbnn::born,mlp,bnn,cnn)")
    t.add_argument("--ansatz", choices=sorted(PRESETS), default=DEFAULT_PRESET, help="circuit preset (qcbnn)")
    t.add_argument("--n-qubits", type=int, default=None, help="override the preset's qubit count")
    t.add_argument("--n-layers", type=int, default=None, help="override the preset's layer count")
    t.add_argument("--mechanism", choices=MECHANISMS, default="semi_implicit",
                   help="continuity mechanism (qcbnn, mlp); semi_implicit = the fair default")
    defaults = TrainConfig()
    t.add_argument("--epochs", type=int, default=defaults.epochs)
    t.add_argument("--seed", type=parse_seed, default=0)
    t.add_argument("--seeds", type=parse_seeds, default=None, help="seeds for a multi-seed comparison: 0,1,2 or 0-4")
    t.add_argument("--jobs", type=int, default=1, help="parallel processes for a comparison (one torch thread each)")
    t.add_argument("--ray", metavar="ADDRESS", help="run each (model, seed) of a comparison as a Ray actor on this "
                                                    "cluster ('auto', 'ray://head:10001'); needs the 'ray' package")
    t.add_argument("--baseline", default=None,
                   help=f"model spec the paired differences are taken against (default: {DEFAULT_BASELINE}, if listed)")
    t.add_argument("--batch-size", type=int, default=defaults.batch_size)
    t.add_argument("--lr", type=float, default=defaults.lr)
    t.add_argument("--samples-train", type=int, default=defaults.n_samples_train, help="weight draws per step")
    t.add_argument("--samples-eval", type=int, default=defaults.n_samples_eval, help="weight draws for predictions")
    t.add_argument("--beta", type=float, default=defaults.beta_max, help="final KL weight")
    t.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs)
    t.add_argument("--prior-sigma", type=float, default=defaults.prior_sigma)
    t.add_argument("--lr-generator", type=float, default=None, help="circuit learning rate (default: --lr)")
    t.add_argument("--disc-steps", type=int, default=defaults.disc_steps, help="discriminator updates per step (born)")
    t.add_argument("--disc-lr", type=float, default=defaults.disc_lr, help="discriminator learning rate (born)")
    t.add_argument("--sivi-draws", type=int, default=defaults.sivi_draws,
                   help="extra mixing draws K of the semi-implicit KL bound")
    t.add_argument("--n-boot", type=int, default=defaults.n_boot, help="bootstrap replicates for the gap CIs")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (classical part)")
    t.add_argument("--threads", type=int_at_least(1, usable_cpus()), default=1,
                   help="torch CPU threads (default 1: fastest for these tiny tensors on a shared CPU, measured)")
    t.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    t.add_argument("--out", type=Path, default=None, help="save a run directory the app can open")
    t.add_argument("--overwrite", action="store_true", help="replace a non-empty --out as a whole")
    add_progress_flag(t)
    return p


def _configs(args) -> tuple[list[tuple[str, object]], dict]:
    """The model configs of ``--model`` (label, ModelConfig) and the TrainConfig keyword arguments (no seed)."""
    overrides = {k: v for k, v in (("n_qubits", args.n_qubits), ("n_layers", args.n_layers)) if v is not None}
    labels = [m.strip() for m in args.model.split(",") if m.strip()]
    if not labels or len(set(labels)) != len(labels):
        raise ValueError(f"--model must list distinct model specs, got {args.model!r}")
    models = [(label, parse_spec(label, args.ansatz, args.mechanism, ansatz_overrides=overrides)) for label in labels]
    train = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, n_samples_train=args.samples_train,
                 n_samples_eval=args.samples_eval, beta_max=args.beta, warmup_epochs=args.warmup_epochs,
                 prior_sigma=args.prior_sigma, n_boot=args.n_boot, device=args.device, lr_generator=args.lr_generator,
                 disc_steps=args.disc_steps, disc_lr=args.disc_lr, sivi_draws=args.sivi_draws)
    TrainConfig(**train)  # validate before any process starts
    return models, train


def format_table(ev: Evaluation, title: str) -> str:
    """Plain-text tables of the scores and the uncertainty gaps."""
    lines = [title, f"{'metric':<32}{'value':>10}"]
    for k, v in ev.scalars().items():
        if not k.startswith("gap_"):
            lines.append(f"{k:<32}{v:>10.4f}")
    lines += ["", f"{'uncertainty gap':<20}{'gap':>9}{'95% CI':>22}{'wrong':>9}{'right':>9}"]
    for k, g in ev.uncertainty_gap.items():
        ci = f"[{g.ci_low:.4f}, {g.ci_high:.4f}]"
        lines.append(f"{k:<20}{g.gap:>9.4f}{ci:>22}{g.mean_wrong:>9.4f}{g.mean_right:>9.4f}")
    lines.append(f"(n={ev.n} test inputs, {ev.n_samples} weight draws, "
                 f"{ev.uncertainty_gap['predictive_entropy'].n_wrong} misclassified)")
    return "\n".join(lines)


def run_train(args) -> dict:
    """Train as the arguments say; returns the JSON-ready result (also used by tests)."""
    torch.set_num_threads(args.threads)
    pick_device(args.device)  # a bad --device or an unusable --out fails before any training
    if args.out is not None:
        check_out(args.out, args.overwrite)
    [(_, model_cfg)], train = _configs(args)
    data = load_data(args.data, args.seed, args.digits)
    cfg = TrainConfig(**train, seed=args.seed)
    callbacks = [] if args.quiet else [TqdmCallback(desc=f"{args.model} on {data.name}", file=sys.stderr)]
    t0 = time.perf_counter()
    trainer = Trainer(data, model_cfg, cfg, callbacks)
    trainer.fit()
    seconds = time.perf_counter() - t0
    test = trainer.evaluate("test")
    result = {
        **test.to_dict(),
        "config": {"data": args.data, "model": model_cfg.to_dict(), "train": cfg.to_dict(), "device": str(trainer.device)},
        "data": data.summary(), "synthetic": data.synthetic, "train_seconds": seconds,
        "final_epoch": trainer.history[-1] if trainer.history else {},
    }
    if args.out is not None:
        with staged_out(args.out) as stage:
            save_run(trainer, stage, {"test": test})
        result["out"] = str(args.out)
    result["_evaluation"] = test
    return result


def run_study(args) -> dict:
    """Train every model of ``--model`` on every seed of ``--seeds`` (``--jobs`` processes); the summary."""
    models, train = _configs(args)
    if args.out:
        raise ValueError("--out saves one run: use it with one model and one seed")
    labels = [label for label, _ in models]
    baseline = args.baseline or DEFAULT_BASELINE
    if args.baseline is not None and args.baseline not in labels:
        raise ValueError(f"--baseline {args.baseline!r} is not among --model ({', '.join(labels)}): name one of them")
    if baseline not in labels:
        print(f"note: baseline {baseline!r} is not among the models: no paired differences", file=sys.stderr)
    seeds = args.seeds if args.seeds is not None else [args.seed]
    data = {"name": args.data, "digits": list(args.digits)}
    specs = [RunSpec(label, cfg.to_dict(), train, data, seed) for seed in seeds for label, cfg in models]
    load_data(args.data, seeds[0], args.digits)  # a clear error before processes start

    def progress(rec: dict) -> None:
        if not args.quiet:
            print(f"  {rec['model']} seed {rec['seed']}: accuracy {rec['accuracy']:.3f}, "
                  f"{rec['train_seconds']:.0f} s", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    jobs = len(specs) if args.ray and args.jobs == 1 else args.jobs  # on Ray the cluster decides how many at once
    records = run_many(specs, jobs=jobs, on_result=progress, backend="ray" if args.ray else None,
                       ray_address=args.ray)
    summary = summarize(records, baseline=baseline)
    summary.update(wall_seconds=time.perf_counter() - t0, jobs=args.jobs, data=args.data,
                   config={"train": train, "models": {label: cfg.to_dict() for label, cfg in models}})
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    study = args.seeds is not None or "," in args.model
    try:
        check_jobs(args.jobs, on_cluster=bool(args.ray))
        result = run_study(args) if study else run_train(args)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    except WorkerError as exc:  # a worker process or Ray actor crashed (out of memory, node lost)
        parser.exit(2, f"error: a training worker failed ({exc})\n")
    except OSError as exc:  # e.g. the disk filled up while saving the run
        parser.exit(2, f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "") + "\n")
    if study:
        if args.json:
            print(json.dumps(jsonable(result), allow_nan=False))
        else:
            print(format_summary(result))
        print(f"wall time {result['wall_seconds']:.1f} s ({len(result['runs'])} runs, --jobs {args.jobs})",
              file=sys.stderr if args.json else sys.stdout)
        return 0
    ev = result.pop("_evaluation")
    if args.json:
        print(json.dumps(jsonable(result), allow_nan=False))
    else:
        tag = " (SYNTHETIC data)" if result["synthetic"] else ""
        print(format_table(ev, f"{args.model} on {args.data}{tag}: test split, {result['train_seconds']:.1f} s training"))
        if "out" in result:
            print(f"run saved to {result['out']}")
    return 0
