"""k seeds × several losses trained together: a loop of Trainers on CPU, one batched model on GPU.

On a GPU, small models leave most of the device idle, so :class:`SeedEnsemble` stacks the members'
weights (``torch.func.stack_module_state``) and runs one ``vmap``-ed ``functional_call`` forward
for all of them; each member keeps its own data stream, objective and per-member gradient clipping,
so it trains exactly as it would alone (tested on CPU against separate runs). On a CPU the batched
forward was measured slower than a loop over the models (issue 8: 1.7× slower for 6 gpt2-tiny with
one thread), so ``batched`` defaults to "only on CUDA, when the members can be stacked" (:func:`stackable`).

Like :class:`~ntl_core.trainer.Trainer` it advances with ``step(n)``, so a page tick, a worker
process or a notebook can drive it the same way.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap

from labkit.callbacks import STEP, notify
from ntl_core.batching import IGNORE, lm_batch
from ntl_core.history import last_train_row
from ntl_core.models import model_arch
from ntl_core.train_config import TrainConfig
from ntl_core.trainer import Trainer

Key = tuple[str, int]  # (loss, seed)


def stackable(base: TrainConfig, losses: Sequence[str]) -> bool:
    """Whether these members can train as one vmapped model: GPT-2 token losses only.

    A regression head or a T5 model gives batches of a different shape per member.
    """
    return "reg" not in losses and model_arch(base.model) == "gpt2"


class SeedEnsemble:
    """Every (loss, seed) pair of a comparison, advanced in lockstep.

    Args:
        base: config shared by all members; ``loss`` and ``seed`` are replaced per member.
        losses: loss keys, e.g. ``("ce", "was")``.
        seeds: e.g. ``(0, 1, 2)``; runs with the same seed share data order and initial weights.
        batched: train all members as one vmapped model; default: when the device is CUDA and the
            members are :func:`stackable`, else the loop.

    Raises:
        ValueError: on empty/repeated losses or seeds, or ``batched=True`` with members that are not
            :func:`stackable`.
    """

    def __init__(self, base: TrainConfig, losses: Sequence[str], seeds: Sequence[int], batched: bool | None = None):
        losses, seeds = list(losses), [int(s) for s in seeds]
        if not losses or len(set(losses)) != len(losses):
            raise ValueError(f"choose at least one loss, each once; got {losses}")
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"choose at least one seed, each once; got {seeds}")
        self.base = base
        self.members: dict[Key, Trainer] = {(loss, seed): Trainer(base.replace(loss=loss, seed=seed))
                                             for seed in seeds for loss in losses}
        first = next(iter(self.members.values()))
        self.device = first.device
        can_stack = stackable(base, losses)
        self.batched = (self.device.type == "cuda" and can_stack) if batched is None else bool(batched)
        if self.batched:
            if not can_stack:
                raise ValueError("batched ensembles train GPT-2 token losses only (no regression head, no T5)")
            self._stack()
        self.train_seconds = 0.0

    # ------------------------------------------------------------------ shape
    @property
    def losses(self) -> list[str]:
        return list(dict.fromkeys(loss for loss, _ in self.members))

    @property
    def seeds(self) -> list[int]:
        return list(dict.fromkeys(seed for _, seed in self.members))

    @property
    def step_count(self) -> int:
        return min(m.step_count for m in self.members.values())

    @property
    def path(self) -> str:
        """How the members train, for a progress line: e.g. ``"batched ×6 on cuda"`` or ``"loop of 6 on cpu"``."""
        return f"{'batched ×' if self.batched else 'loop of '}{len(self.members)} on {self.device.type}"

    def histories(self) -> dict[Key, list[dict]]:
        return {key: m.history for key, m in self.members.items()}

    # ------------------------------------------------------------------ training
    def step(self, n: int = 1, sync: bool = True) -> dict[Key, dict]:
        """``n`` optimiser steps of every member (evaluating on each member's schedule).

        Args:
            n: steps.
            sync: batched, copy the trained weights into the members' models afterwards; a caller
                that steps one at a time (a page tick) passes ``False`` and calls :meth:`sync` once.

        Returns:
            The last train row of each member.

        Raises:
            ValueError: if ``n`` is not a positive integer or a member's loss became NaN/inf.
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        for _ in range(n):
            if self.batched:
                self._batched_step()
            else:
                for member in self.members.values():  # round robin keeps the members at the same step
                    member.step(1)
                self.train_seconds = sum(m.train_seconds for m in self.members.values())
        if sync:
            self.sync()
        return {key: last_train_row(m.history) for key, m in self.members.items()}

    def _stack(self) -> None:
        models = [m.model for m in self.members.values()]
        params, buffers = stack_module_state(models)
        self._params = params  # name -> (k, ...) leaf tensors: the weights that train
        self._buffers = buffers
        self._skeleton = copy.deepcopy(models[0]).to("meta")
        self._skeleton.tie_weights()  # moving to "meta" unties lm_head from the embedding
        # Plain-matmul attention: vmap has no batching rule for the fused SDPA kernels (it falls back
        # to a slow per-member loop); the result is the same to float tolerance.
        self._skeleton.config._attn_implementation = "eager"
        if set(dict(self._skeleton.named_parameters())) != set(params):
            raise ValueError("cannot batch this model: its parameters do not match the stacked weights")
        # transformers' padding check calls .item(), which vmap cannot batch; our right padding is
        # harmless without a mask (see ntl_core.batching), so the check is switched off here only.
        for module in self._skeleton.modules():
            if hasattr(module, "warn_if_padding_and_no_attention_mask"):
                module.warn_if_padding_and_no_attention_mask = lambda *args, **kwargs: None
        cfg = self.base
        self._optimizer = torch.optim.AdamW(list(params.values()), lr=cfg.lr, weight_decay=cfg.weight_decay)
        warmup = max(cfg.warmup_steps, 1)
        self._scheduler = torch.optim.lr_scheduler.LambdaLR(self._optimizer, lambda s: min(1.0, (s + 1) / warmup))

        def logits(p, b, input_ids):
            return functional_call(self._skeleton, (p, b), (input_ids,)).logits

        self._forward = vmap(logits)

    def sync(self) -> None:
        """Copy the stacked weights back into each member's model (for evaluation, prediction, saving).

        Batched only: a loop trains the members' models themselves.
        """
        if not self.batched:
            return
        with torch.no_grad():
            for i, member in enumerate(self.members.values()):
                for name, param in member.model.named_parameters():
                    param.copy_(self._params[name][i])

    def _batched_step(self) -> None:
        started = time.perf_counter()
        members = list(self.members.values())
        first = members[0]
        batches = []
        for m in members:
            questions, answers = zip(*m._next_batch())
            batches.append(lm_batch(m.tokenizer, m.arch, list(questions),
                                    [m.task.to_target(a) for a in answers], self.device))
        # Right padding to a common length: causal attention never lets it reach a real token and its
        # labels are ignored, so each member's loss equals its unpadded loss.
        width = max(b["input_ids"].shape[1] for b in batches)
        eos = first.tokenizer.eos_token_id

        def pad(t: torch.Tensor, value: int) -> torch.Tensor:
            return torch.nn.functional.pad(t, (0, width - t.shape[1]), value=value)

        input_ids = torch.stack([pad(b["input_ids"], eos) for b in batches])
        labels = torch.stack([pad(b["labels"], IGNORE) for b in batches])
        self._skeleton.train()
        with first._autocast():
            logits = self._forward(self._params, self._buffers, input_ids)  # (k, B, T, V)
        parts = [m.objective(logits[i], labels[i]) for i, m in enumerate(members)]
        self._optimizer.zero_grad(set_to_none=True)
        torch.stack([p["loss"] for p in parts]).sum().backward()  # members share no weights: grads stay separate
        flat = torch.cat([torch.stack([v.detach().float() for v in p.values()]) for p in parts]).tolist()  # one sync
        values, at = [], 0
        for p in parts:
            values.append(flat[at: at + len(p)])
            at += len(p)
        for m, row in zip(members, values):
            if not math.isfinite(row[0]):
                raise ValueError(f"loss of {m.cfg.loss} seed {m.cfg.seed} is {row[0]} at step {m.step_count + 1}; "
                                 "lower the learning rate")
        if self.base.grad_clip:
            self._clip_per_member(self.base.grad_clip)
        self._optimizer.step()
        self._scheduler.step()
        self.train_seconds += time.perf_counter() - started  # evaluation excluded, as in Trainer
        lr = self._scheduler.get_last_lr()[0]
        due = self.base.eval_every and (first.step_count + 1) % self.base.eval_every == 0
        if due:
            self.sync()
        for m, p, row in zip(members, parts, values):
            m.step_count += 1
            m.train_seconds = self.train_seconds
            out = {"step": m.step_count, **dict(zip(p, row)), "lr": lr, "time": self.train_seconds}
            m.history.append(out)
            notify(m.callbacks, STEP, m, out)
            if due:
                for split in m.available_splits:
                    m.evaluate(split)

    def _clip_per_member(self, max_norm: float) -> None:
        """``clip_grad_norm_`` for each member separately (a joint norm would couple the members)."""
        grads = [p.grad for p in self._params.values() if p.grad is not None]
        norms = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()  # (k,)
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))

