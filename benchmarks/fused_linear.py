"""LM head + CE + NTL at language-model sizes: time per forward+backward and peak memory of the loss step.

    OMP_NUM_THREADS=2 .venv/bin/python -m benchmarks.fused_linear [--rounds 3]   # from the repository root

Variants, each from hidden states ``(N, d)`` and an LM-head weight ``(V, d)`` to the gradients of both:

* ``fused``: ``ntl_core.FusedLinearCEWithNTL`` (chunks of tokens, logits never held whole),
* ``(a) lm_head + CEWithNTL``: ``F.linear`` then ``ntl_core.CEWithNTL`` (one softmax pass),
* ``(b) lm_head + F.cross_entropy``: plain CE, no NTL (the speed reference),
* ``(c) lm_head + CE + ntloss``: ``F.linear``, ``F.cross_entropy`` + λ · ``ntloss.NTLoss`` 0.3.2.

NTL-WAS, λ = 0.3, reweigh off, float32, 10 % of the labels digits, none ignored (ignored labels
would favour the fused loss, which skips their rows). Sizes: the issue's (N = 8192, d = 768,
V = 50,257) and (N = 8192, d = 512, V = 128,000).

Time: every round runs every variant once, in a rotated order, in this process; medians and the
median of per-round ratios to (b) are printed. Memory: each variant runs once in a fresh
subprocess that builds the inputs, resets the kernel's peak-RSS counter (``/proc/self/clear_refs``)
and reports peak RSS during one forward+backward minus RSS just before it (the inputs and the
interpreter are not counted; the gradients the step returns are). On CUDA the memory is
``torch.cuda.max_memory_allocated`` minus the allocation before the step. Targets (issue 18): CPU
memory ≤ 1/4 of (a) at V = 50k and ≤ 1/8 at V = 128k, time ≤ 1.10× (b); GPU time ≤ 1.0× (b),
memory ≤ 1/8.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.ntl_overhead import build_tokenizer
from labkit.device import pick_device
from ntl_core import CEWithNTL, FusedLinearCEWithNTL

SIZES = ((8192, 768, 50257), (8192, 512, 128000))
WEIGHT = 0.3
FUSED, BASELINE = "fused", "(b) lm_head + F.cross_entropy"
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def make_inputs(n: int, dim: int, vocab: int, number_share: float, device, seed: int):
    """Tokenizer, hidden states ``(N, d)``, head ``(V, d)`` and labels ``(N,)`` with digit labels."""
    tokenizer = build_tokenizer(vocab, seed)
    gen = torch.Generator().manual_seed(seed)
    ids = tokenizer.get_vocab()
    digits = torch.tensor([ids[str(d)] for d in range(10)])
    labels = torch.randint(vocab, (n,), generator=gen)
    where = torch.rand(n, generator=gen) < number_share
    labels[where] = digits[torch.randint(10, (int(where.sum()),), generator=gen)]
    hidden = torch.randn(n, dim, generator=gen)
    weight = torch.randn(vocab, dim, generator=gen) / dim**0.5
    return tokenizer, hidden.to(device), weight.to(device), labels.to(device)


def variants(tokenizer) -> dict[str, Step]:
    """Name → ``f(hidden, weight, labels) → scalar loss``."""
    import ntloss

    fused = FusedLinearCEWithNTL(tokenizer, kind="was", weight=WEIGHT)
    unfused = CEWithNTL(tokenizer, kind="was", weight=WEIGHT)
    reference = ntloss.NTLoss(copy.deepcopy(tokenizer), reweigh=False)  # ntloss mutates its tokenizer

    def ce_ntloss(h, w, y):
        logits = F.linear(h, w)
        return F.cross_entropy(logits, y) + WEIGHT * reference(logits[None], y[None])

    return {
        FUSED: lambda h, w, y: fused(h, w, y).loss,
        "(a) lm_head + CEWithNTL": lambda h, w, y: unfused(F.linear(h, w)[None], y[None]).loss,
        BASELINE: lambda h, w, y: F.cross_entropy(F.linear(h, w), y),
        "(c) lm_head + CE + ntloss": ce_ntloss,
    }


def run_once(step: Step, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor) -> float:
    """Seconds for one forward+backward into fresh gradients of ``hidden`` and ``weight``."""
    h, w = hidden.detach().requires_grad_(), weight.detach().requires_grad_()
    sync = torch.cuda.synchronize if h.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    step(h, w, labels).backward()
    sync()
    return time.perf_counter() - start


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_memory(name: str, size: tuple[int, int, int], args) -> int:
    """Peak bytes of one step of ``name`` above what was allocated before it (this process)."""
    device = pick_device(args.device)
    tokenizer, hidden, weight, labels = make_inputs(*size, args.number_share, device, args.seed)
    step = variants(tokenizer)[name]
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        run_once(step, hidden, weight, labels)
        return torch.cuda.max_memory_allocated(device) - before
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS) to the current RSS
    before = _status_kib("VmRSS")
    run_once(step, hidden, weight, labels)
    return (_status_kib("VmHWM") - before) * 1024


def memory_in_subprocess(name: str, size: tuple[int, int, int], args) -> int:
    """:func:`measure_memory` in a fresh interpreter, so no variant inherits another's heap."""
    cmd = [sys.executable, "-m", "benchmarks.fused_linear", "--memory-of", name, "--sizes", ",".join(map(str, size)),
           "--device", args.device, "--seed", str(args.seed), "--number-share", str(args.number_share)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak_bytes"])


def bench_size(size: tuple[int, int, int], args) -> None:
    """Memory (subprocesses) then interleaved timings for one ``(N, d, V)``; prints a table."""
    device = pick_device(args.device)
    tokenizer, hidden, weight, labels = make_inputs(*size, args.number_share, device, args.seed)
    fns = variants(tokenizer)
    names = list(fns)
    memory = {name: memory_in_subprocess(name, size, args) for name in names} if args.memory else {}
    times: dict[str, list[float]] = {n: [] for n in names}
    if args.rounds:
        for name in names:  # warm-up: allocator, BLAS/oneDNN buffers, per-device caches
            run_once(fns[name], hidden, weight, labels)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            times[name].append(run_once(fns[name], hidden, weight, labels))
    n, dim, vocab = size
    load = os.getloadavg()
    print(f"\nN={n} d={dim} V={vocab} float32, {int((labels < 0).sum())} ignored, "
          f"{args.rounds} interleaved rounds, loadavg(1,5,15) after={tuple(round(v, 2) for v in load)}")
    print(f"{'variant':30s} {'median s':>9s} {'x (b) paired':>13s} {'peak MiB':>9s} {'x (a) mem':>10s}")
    mem_a = memory.get("(a) lm_head + CEWithNTL")
    for name in names:
        med = statistics.median(times[name]) if times[name] else float("nan")
        paired = statistics.median(t / b for t, b in zip(times[name], times[BASELINE])) if times[name] else float("nan")
        mem = memory.get(name)
        mem_txt = f"{mem / 2**20:9.0f}" if mem is not None else f"{'-':>9s}"
        ratio = f"{mem / mem_a:10.3f}" if mem is not None and mem_a else f"{'-':>10s}"
        print(f"{name:30s} {med:9.2f} {paired:13.3f} {mem_txt} {ratio}")
    for name in names if args.rounds else ():
        print(f"  per-round s, {name}: {[round(t, 1) for t in times[name]]}")
    if times[FUSED]:
        print(f"  per-round fused / (b): {[round(t / b, 3) for t, b in zip(times[FUSED], times[BASELINE])]}")
    if memory:
        limit = 4 if vocab < 100_000 else 8
        share = memory[FUSED] / mem_a
        print(f"  memory fused / (a) = 1/{1 / share:.1f} (target ≤ 1/{limit}: {'met' if share <= 1 / limit else 'MISSED'})")
    if times[FUSED]:
        paired = statistics.median(t / b for t, b in zip(times[FUSED], times[BASELINE]))
        print(f"  time fused / (b) = {paired:.3f} (target ≤ 1.10 on CPU: {'met' if paired <= 1.10 else 'MISSED'})")


def profile_fused(size: tuple[int, int, int], args) -> None:
    """Share of one fused forward+backward spent in the matrix products (torch.profiler, self time)."""
    from torch.profiler import ProfilerActivity, profile

    device = pick_device(args.device)
    tokenizer, hidden, weight, labels = make_inputs(*size, args.number_share, device, args.seed)
    step = variants(tokenizer)[FUSED]
    run_once(step, hidden, weight, labels)  # warm-up
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        run_once(step, hidden, weight, labels)
    events = prof.key_averages()
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    total = sum(getattr(e, attr) for e in events)
    products = sum(getattr(e, attr) for e in events if e.key in ("aten::mm", "aten::addmm", "aten::addmm_"))
    print(f"N={size[0]} d={size[1]} V={size[2]}: matrix products {products / total:.1%} of the fused step's "
          f"self time ({total / 1e6:.2f} s profiled)")
    for e in sorted(events, key=lambda e: -getattr(e, attr))[:8]:
        print(f"  {e.key:28s} {getattr(e, attr) / total:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (0: memory only)")
    parser.add_argument("--sizes", default=";".join(",".join(map(str, s)) for s in SIZES), help="N,d,V[;N,d,V…]")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the memory subprocesses")
    parser.add_argument("--number-share", type=float, default=0.10)
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="only profile the fused step (time in products)")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)  # internal: one variant, in a subprocess
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split(",")) for s in args.sizes.split(";")]
    if args.memory_of:
        print(json.dumps({"peak_bytes": measure_memory(args.memory_of, sizes[0], args)}))
        return
    device = pick_device(args.device)
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} cpus={os.cpu_count()} "
          f"loadavg(1,5,15) before={tuple(round(v, 2) for v in os.getloadavg())}")
    for size in sizes:
        (profile_fused if args.profile else bench_size)(size, args)


if __name__ == "__main__":
    main()
