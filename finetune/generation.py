"""Batched answer generation with a causal LM.

Prompts are sorted by length before batching so a batch pads to similar lengths (padding is
wasted compute), and padded on the left so every sequence's new tokens start at the same column.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from finetune.prompts import encode_prompt

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Answer:
    """One generated answer: its index into the prompts, its text, and how many tokens it took
    (up to and including the stop token), for throughput figures."""

    index: int
    text: str
    tokens: int


@dataclass(frozen=True)
class Sampling:
    """Decoding settings; defaults are the paper's evaluation settings (T 0.5, top-p 0.95, 256
    new tokens). Temperature 0 means greedy decoding."""

    temperature: float = 0.5
    top_p: float = 0.95
    max_new_tokens: int = 256


PAPER_SAMPLING = Sampling()


def _stop_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """End-of-sequence ids from both the tokenizer and the model's generation config, which for
    chat models also lists the end-of-turn token (Llama 3's <|eot_id|>)."""
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [*ids, tokenizer.eos_token_id] if i is not None})


def iter_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    fmt: str,
    sampling: Sampling,
    *,
    batch_size: int,
    seed: int,
) -> Iterator[list[Answer]]:
    """Yield the answers batch by batch (in length order, not prompt order)."""
    import torch

    stop_ids = _stop_ids(model, tokenizer)
    encoded = [encode_prompt(tokenizer, prompt, fmt) for prompt in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    sample = sampling.temperature > 0
    options = {
        "max_new_tokens": sampling.max_new_tokens,
        "do_sample": sample,
        "eos_token_id": stop_ids,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if sample:
        options.update(temperature=sampling.temperature, top_p=sampling.top_p)
    else:
        options.update(temperature=None, top_p=None, top_k=None)
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    torch.manual_seed(seed)
    try:
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in indices]}, return_tensors="pt").to(model.device)
            with torch.inference_mode():
                output = model.generate(**batch, **options)
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            stopped = torch.isin(new_tokens, torch.tensor(stop_ids, device=new_tokens.device))
            # tokens up to and including the first stop token; all of them when none was hit
            lengths = torch.where(stopped.any(dim=1), stopped.int().argmax(dim=1) + 1, new_tokens.shape[1])
            yield [Answer(i, text.strip(), int(n)) for i, text, n in zip(indices, texts, lengths.tolist(), strict=True)]
    finally:
        tokenizer.padding_side = padding_side
