"""Turn ``(question, written answer)`` strings into model inputs, and greedy-decode answers.

Decoder-only (GPT-2): ``<bos> question answer <eos>``; only the answer and ``<eos>`` are trained,
so the loss is about answering, not about predicting the question. Encoder–decoder (T5): the
question (+ ``<eos>``) goes to the encoder, the answer (+ ``<eos>``) is the decoder's target.
Either way :func:`lm_batch` returns labels *aligned with the logits* (``labels[b, t]`` is the
target of ``logits[b, t]``), so the loss code does not care about the architecture.
"""
from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast

IGNORE = -100  # label value excluded from every loss (ntloss and torch's default)


def _encode(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _pad(rows: list[list[int]], value: int, left: bool = False) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([[value] * (width - len(r)) + r if left else r + [value] * (width - len(r)) for r in rows])


def lm_batch(tokenizer: PreTrainedTokenizerFast, arch: str, questions: list[str], targets: list[str],
             device: torch.device) -> dict[str, torch.Tensor]:
    """Inputs for next-token training.

    Args:
        tokenizer: the run's tokenizer.
        arch: ``"gpt2"`` or ``"t5"``.
        questions: B prompts, e.g. ``"12+34="``.
        targets: B answers as the model writes them (already reversed if the task reverses).
        device: where the tensors go.

    Returns:
        ``input_ids`` (B, T_in) (+ ``attention_mask`` and ``decoder_input_ids`` (B, T) for T5),
        and ``labels`` (B, T) aligned with the model's logits (B, T, V), ``-100`` where not trained.
    """
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    q_ids, a_ids = _encode(tokenizer, questions), _encode(tokenizer, targets)
    if arch == "gpt2":
        seqs = [[bos, *q, *a, eos] for q, a in zip(q_ids, a_ids)]
        # labels[t] is the target of position t, i.e. token t+1; the prompt is not trained
        labels = [[IGNORE] * len(q) + [*a, eos, IGNORE] for q, a in zip(q_ids, a_ids)]
        # Right padding never reaches a real token through causal attention, so no attention mask is
        # needed (the padded mask costs ~10 % of a CPU step); the filler is <eos>, whose positions are
        # not trained, rather than <pad>, which would make transformers warn about a missing mask.
        return {"input_ids": _pad(seqs, eos).to(device), "labels": _pad(labels, IGNORE).to(device)}
    enc = [[*q, eos] for q in q_ids]
    labels = _pad([[*a, eos] for a in a_ids], IGNORE)
    # T5 starts decoding from <pad> and sees the target shifted right by one
    decoder_in = torch.cat([torch.full((len(a_ids), 1), pad), labels[:, :-1].masked_fill(labels[:, :-1] == IGNORE, pad)], 1)
    return {"input_ids": _pad(enc, pad).to(device), "attention_mask": _pad([[1] * len(e) for e in enc], 0).to(device),
            "decoder_input_ids": decoder_in.to(device), "labels": labels.to(device)}


def prompt_batch(tokenizer: PreTrainedTokenizerFast, arch: str, questions: list[str],
                 device: torch.device, left: bool) -> dict[str, torch.Tensor]:
    """Prompts only: ``<bos> question`` (GPT-2) or ``question <eos>`` (T5), padded on one side.

    Generation with a decoder-only model needs left padding (the answer continues the last real
    token); the regression head pools the last non-pad token and takes either side.
    """
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    rows = [[bos, *q] if arch == "gpt2" else [*q, eos] for q in _encode(tokenizer, questions)]
    return {"input_ids": _pad(rows, pad, left).to(device),
            "attention_mask": _pad([[1] * len(r) for r in rows], 0, left).to(device)}


@torch.no_grad()
def greedy_generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, arch: str, questions: list[str],
                    max_new_tokens: int, device: torch.device) -> tuple[list[str], torch.Tensor]:
    """Greedy answers to ``questions`` as written by the model (reversed digits stay reversed).

    Args:
        max_new_tokens: generation stops there or at ``<eos>``.

    Returns:
        ``texts`` — B decoded answers (up to the first ``<eos>``), and ``probs`` (B, S, V) — the
        softmax over the vocabulary at each of the S generated positions.
    """
    batch = prompt_batch(tokenizer, arch, questions, device, left=(arch == "gpt2"))
    out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                         output_scores=True, return_dict_in_generate=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    new = out.sequences[:, -len(out.scores):]
    texts = []
    for row in new.tolist():
        row = row[: row.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in row else row
        texts.append(tokenizer.decode(row, skip_special_tokens=True))
    probs = torch.stack([s.float().softmax(-1) for s in out.scores], dim=1)
    return texts, probs
