"""Prompt formats and tokenisation with answer-only labels.

Training and evaluation must render an instruction identically, or the tuned model is tested on a
format it never saw; both go through `render_prompt`. A tokenizer's chat template is used when it
has one (instruct and many base checkpoints ship one), else a plain Alpaca-style layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from finetune.errors import FinetuneError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

PLAIN_PROMPT = "### Instruction:\n{instruction}\n\n### Response:\n"
CONTEXT_INSTRUCTION = "Answer the question using the passage.\n\nPassage:\n{context}\n\nQuestion: {question}"
RAG_INSTRUCTION = "Answer the question using the passages.\n\n{passages}\n\nQuestion: {question}"

#: Tokens always kept from the end of an over-long prompt: they hold the response header
#: ("### Response:" or the template's assistant turn) the answer must follow.
PROMPT_TAIL_TOKENS = 32

IGNORE_INDEX = -100


def resolve_prompt_format(tokenizer: PreTrainedTokenizerBase, requested: str) -> str:
    """Turn 'auto' into 'chat' or 'plain'; refuse 'chat' for a tokenizer without a template."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if requested == "auto":
        return "chat" if has_template else "plain"
    if requested == "chat" and not has_template:
        raise FinetuneError("--prompt-format chat: this tokenizer has no chat template; use plain or auto")
    if requested not in ("chat", "plain"):
        raise FinetuneError(f"unknown prompt format '{requested}' (auto, chat or plain)")
    return requested


def render_prompt(tokenizer: PreTrainedTokenizerBase, instruction: str, fmt: str) -> str:
    """The text the model sees before its answer."""
    if fmt == "chat":
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
        )
    return PLAIN_PROMPT.format(instruction=instruction)


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, fmt: str) -> list[int]:
    """Token ids of a rendered prompt. Chat templates write their own BOS, so the tokenizer's
    special tokens are added only to plain prompts (no doubled <s>)."""
    return tokenizer(prompt, add_special_tokens=(fmt == "plain"))["input_ids"]


def _answer_text(tokenizer: PreTrainedTokenizerBase, instruction: str, output: str, prompt: str, fmt: str) -> str:
    """The answer as the template writes it, end-of-turn marker included, so the model learns to
    stop. Falls back to answer + EOS when a template does not extend its own generation prompt."""
    if fmt == "chat":
        full = tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}, {"role": "assistant", "content": output}], tokenize=False
        )
        if full.startswith(prompt):
            return full[len(prompt) :]
    return output + (tokenizer.eos_token or "")


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool


def encode_example(
    tokenizer: PreTrainedTokenizerBase, instruction: str, output: str, fmt: str, cutoff_len: int
) -> Encoded:
    """Tokenise one pair with loss on the answer tokens only, cut to `cutoff_len`.

    An over-long record is truncated, never dropped: the answer keeps up to half the budget (all
    of it if the prompt is short), and the prompt loses its middle so both its opening and its
    response header survive."""
    prompt = render_prompt(tokenizer, instruction, fmt)
    prompt_ids = encode_prompt(tokenizer, prompt, fmt)
    answer_ids = tokenizer(_answer_text(tokenizer, instruction, output, prompt, fmt), add_special_tokens=False)[
        "input_ids"
    ]
    truncated = len(prompt_ids) + len(answer_ids) > cutoff_len
    if truncated:
        answer_keep = min(len(answer_ids), max(cutoff_len - len(prompt_ids), cutoff_len // 2, 1))
        prompt_keep = cutoff_len - answer_keep
        tail = min(PROMPT_TAIL_TOKENS, prompt_keep // 2)
        prompt_ids = prompt_ids[: prompt_keep - tail] + (prompt_ids[-tail:] if tail else [])
        answer_ids = answer_ids[:answer_keep]
    return Encoded(
        input_ids=prompt_ids + answer_ids,
        labels=[IGNORE_INDEX] * len(prompt_ids) + answer_ids,
        truncated=truncated,
    )
