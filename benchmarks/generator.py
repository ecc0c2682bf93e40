"""Forward+backward time of the weight generator's circuit: torch fast path vs PennyLane QNode.

    .venv/bin/python benchmarks/generator.py [--preset constrained_crx] [--reps 15] [--threads N]
                                             [--device cpu|cuda] [--skip-qnode]

For S = 16, 256, 4096 noise draws on the preset's circuit (default: 6 qubits, 3 layers), each
repetition times, in rotating order (interleaved, so load changes hit all methods alike):
  * fast float32 / float64 — ``qcbnn_core.simulator.circuit_probs`` (what the generator uses),
  * qnode broadcast        — one default.qubit QNode call with a (S, n) batch, backprop,
  * qnode per-sample       — S separate QNode calls (only for S = 16; it grows linearly in S),
  * generator born         — the whole Born-machine draw (noise → circuit → weight map) of S weight vectors,
  * generator semi+SIVI    — the semi-implicit draw (+ σ⊙ε) and its SIVI KL bound with K = 32 extra draws, as
                             one training step computes them (what the issue's "fwd+bwd at S = 256" target means
                             for the new mechanism),
  * mlp semi+SIVI          — the same for the classical MLP control.
The work is probabilities (or weights / KL) → fixed readout → ``backward()`` to all parameters.
Prints medians (wall and process CPU time) and the ratio QNode / fast. ``--device cuda`` runs the
fast path on a GPU (the QNode and generator rows stay on the CPU); without PennyLane the QNode rows are skipped. The machine may be shared:
the load average and the cost of one tiny torch op are printed so numbers can be compared.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from qcbnn_core.ansatz import PRESETS, init_params
from qcbnn_core.generator import ClassicalWeightGenerator, QuantumWeightGenerator
from qcbnn_core.objectives import gaussian_log_prior, semi_implicit_log_q
from qcbnn_core.simulator import circuit_probs


def tiny_op_us(n: int = 20000) -> float:
    """Microseconds per ``x + 1`` on a 1-element tensor: the per-op overhead on this machine now."""
    x = torch.ones(1)
    start = time.perf_counter()
    for _ in range(n):
        x + 1
    return (time.perf_counter() - start) / n * 1e6


def make_runner(fn, config, z, dtype, device="cpu"):
    """A closure running forward+backward once, returning (wall s, cpu s)."""
    params = init_params(config, seed=0, dtype=dtype, device=device)
    rot, ent = params["rot"].requires_grad_(True), params["ent"].requires_grad_(True)
    readout = torch.linspace(-1, 1, config.dim, dtype=dtype, device=device) ** 2
    z = z.to(device=device, dtype=dtype)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)

    def run():
        rot.grad = ent.grad = None
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        (fn(z, rot, ent) * readout).sum().backward()
        sync()
        return time.perf_counter() - wall, time.process_time() - cpu

    return run


def make_generator_runner(gen, size: int, sivi_draws: int = 32):
    """A closure timing one generator draw of ``size`` weight vectors (+ the SIVI KL bound) forward+backward."""
    rng = torch.Generator().manual_seed(size)

    def run():
        gen.zero_grad(set_to_none=True)
        wall, cpu = time.perf_counter(), time.process_time()
        w, m = gen.sample_with_mean(size, rng)
        out = w.pow(2).mean()
        if gen.mechanism == "semi_implicit":
            m_extra = gen.mean_map(gen.sample_mixing(sivi_draws, rng))
            out = out + (semi_implicit_log_q(w, m, m_extra, gen.sigma) - gaussian_log_prior(w)).mean()
        out.backward()
        return time.perf_counter() - wall, time.process_time() - cpu

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="constrained_crx", choices=sorted(PRESETS))
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 256, 4096])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="device of the fast path (cpu, cuda)")
    parser.add_argument("--skip-qnode", action="store_true", help="time the fast path only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = PRESETS[args.preset]
    qnode = None
    if not args.skip_qnode:
        try:
            from qcbnn_core.circuit import make_qnode

            qnode = make_qnode(config)
        except ImportError:
            print("PennyLane is not installed: QNode rows skipped")
    print(f"circuit: {args.preset}: {config.describe()}; fast path on {args.device}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}, tiny torch op {tiny_op_us():.1f} us (about 4.4 us on an idle x86 server core)")
    print(f"{'S':>5} {'method':<20} {'wall ms':>9} {'cpu ms':>9} {'QNode/fast (wall)':>18}")
    for size in args.sizes:
        z = torch.rand(size, config.n_qubits, generator=torch.Generator().manual_seed(size), dtype=torch.float64) * 2 - 1
        methods = {
            "fast float32": make_runner(lambda *a: circuit_probs(config, *a), config, z, torch.float32, args.device),
            "fast float64": make_runner(lambda *a: circuit_probs(config, *a), config, z, torch.float64, args.device),
        }
        if qnode is not None:
            methods["qnode broadcast"] = make_runner(qnode, config, z, torch.float64)
        methods["generator born"] = make_generator_runner(
            QuantumWeightGenerator(config, mechanism="born"), size)
        methods["generator semi+SIVI"] = make_generator_runner(QuantumWeightGenerator(config), size)
        methods["mlp semi+SIVI"] = make_generator_runner(
            ClassicalWeightGenerator(config.n_qubits, config.dim, 64), size)
        if qnode is not None and size <= 16:
            methods["qnode per-sample"] = make_runner(lambda zz, r, e: torch.stack([qnode(x, r, e) for x in zz]),
                                                      config, z, torch.float64)
        for run in methods.values():  # warm-up (caches, lazy init)
            run()
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
        names = list(methods)
        reps = args.reps if size < 4096 else max(3, args.reps // 3)
        for rep in range(reps):
            for name in names[rep % len(names):] + names[: rep % len(names)]:
                times[name].append(methods[name]())
        fast = statistics.median(w for w, _ in times["fast float32"])
        for name in names:
            wall = statistics.median(w for w, _ in times[name])
            cpu = statistics.median(c for _, c in times[name])
            ratio = f"{wall / fast:.1f}x" if name.startswith("qnode") else ""
            print(f"{size:>5} {name:<20} {wall * 1e3:>9.2f} {cpu * 1e3:>9.2f} {ratio:>18}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
