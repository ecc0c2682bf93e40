"""Command line: ``python -m qcbnn_core train --data phantom --model qcbnn --epochs 30 --seed 0 [--json] [--out DIR]``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from labkit.device import pick_device
from labkit.out_dir import check_out, staged_out
from labkit.strict_json import jsonable

from .ansatz import DEFAULT_PRESET, PRESETS
from .data import DATA_CHOICES, load_breast_cancer_tabular, load_dataset, load_digits_pair
from .metrics import Evaluation
from .models import MECHANISMS, MODEL_KINDS, ModelConfig
from .runs import save_run
from .trainer import TqdmCallback, TrainConfig, Trainer


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
    t.add_argument("--data", default="phantom", help=f"one of {', '.join(DATA_CHOICES)} or a path to breastmnist.npz")
    t.add_argument("--digits", type=_digits, default=(3, 8), help="the two digits for --data digits (default 3,8)")
    t.add_argument("--model", choices=MODEL_KINDS, default="qcbnn")
    t.add_argument("--ansatz", choices=sorted(PRESETS), default=DEFAULT_PRESET, help="circuit preset (qcbnn)")
    t.add_argument("--n-qubits", type=int, default=None, help="override the preset's qubit count")
    t.add_argument("--n-layers", type=int, default=None, help="override the preset's layer count")
    t.add_argument("--mechanism", choices=MECHANISMS, default="born", help="continuity mechanism (qcbnn)")
    defaults = TrainConfig()
    t.add_argument("--epochs", type=int, default=defaults.epochs)
    t.add_argument("--seed", type=int, default=0)
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
    t.add_argument("--n-boot", type=int, default=defaults.n_boot, help="bootstrap replicates for the gap CIs")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (classical part)")
    t.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fastest for these tiny tensors on a shared CPU, measured)")
    t.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    t.add_argument("--out", type=Path, default=None, help="save a run directory the app can open")
    t.add_argument("--overwrite", action="store_true", help="replace a non-empty --out as a whole")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _load(args) -> object:
    if args.data == "digits":
        return load_digits_pair(args.digits, seed=args.seed)
    if args.data == "breast_cancer":
        return load_breast_cancer_tabular(seed=args.seed)
    return load_dataset(args.data, seed=args.seed)


def format_table(ev: Evaluation, title: str) -> str:
    """Plain-text tables of the scores and the uncertainty gaps."""
    lines = [title, f"{'metric':<20}{'value':>10}"]
    for k, v in ev.scalars().items():
        if not k.startswith("gap_"):
            lines.append(f"{k:<20}{v:>10.4f}")
    lines += ["", f"{'uncertainty gap':<20}{'gap':>9}{'95% CI':>22}{'wrong':>9}{'right':>9}"]
    for k, g in ev.uncertainty_gap.items():
        ci = f"[{g.ci_low:.4f}, {g.ci_high:.4f}]"
        lines.append(f"{k:<20}{g.gap:>9.4f}{ci:>22}{g.mean_wrong:>9.4f}{g.mean_right:>9.4f}")
    lines.append(f"(n={ev.n} test inputs, {ev.n_samples} weight draws, "
                 f"{ev.uncertainty_gap['predictive_entropy'].n_wrong} misclassified)")
    return "\n".join(lines)


def run_train(args) -> dict:
    """Train as the arguments say; returns the JSON-ready result (also used by tests)."""
    torch.set_num_threads(max(1, args.threads))
    pick_device(args.device)  # a bad --device or an unusable --out fails before any training
    if args.out is not None:
        check_out(args.out, args.overwrite)
    data = _load(args)
    overrides = {k: v for k, v in (("n_qubits", args.n_qubits), ("n_layers", args.n_layers)) if v is not None}
    model_cfg = ModelConfig(kind=args.model, ansatz=args.ansatz, ansatz_overrides=overrides, mechanism=args.mechanism)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, n_samples_train=args.samples_train,
                      n_samples_eval=args.samples_eval, beta_max=args.beta, warmup_epochs=args.warmup_epochs,
                      prior_sigma=args.prior_sigma, n_boot=args.n_boot, seed=args.seed, device=args.device,
                      lr_generator=args.lr_generator, disc_steps=args.disc_steps, disc_lr=args.disc_lr)
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = run_train(args)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    except OSError as exc:  # e.g. the disk filled up while saving the run
        parser.exit(2, f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "") + "\n")
    ev = result.pop("_evaluation")
    if args.json:
        print(json.dumps(jsonable(result), allow_nan=False))
    else:
        tag = " (SYNTHETIC data)" if result["synthetic"] else ""
        print(format_table(ev, f"{args.model} on {args.data}{tag}: test split, {result['train_seconds']:.1f} s training"))
        if "out" in result:
            print(f"run saved to {result['out']}")
    return 0
