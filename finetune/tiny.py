"""A tiny randomly initialised Llama with a tokenizer trained offline, for CI and demos.

Hugging Face hub downloads do not work on the machines this project is tested on, yet the
fine-tuning loop must run end to end there. A byte-level BPE tokenizer trained in a second on a
few hundred paragraphs, plus a Llama of a few hundred thousand parameters, exercises the same
code paths (chat or plain prompts, LoRA on every linear layer, generation) as a real base model.
The same builders make the random-weight 8B-shape model of the GPU benchmark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finetune.errors import FinetuneError
from foveate_dspy.corpus.jsonl import read_objects

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>"]

#: A minimal chat format (role marker, content, end of turn) for testing the chat-template path.
TINY_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' }}\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

#: Dimensions small enough to train for a few steps on one CPU core within seconds. The wide
#: initialiser (0.2 instead of Llama's 0.02) gives random logits enough spread that a few LoRA
#: steps move the loss visibly.
TINY_SHAPE: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 4096,
    "initializer_range": 0.2,
}

_TEXT_FIELDS = ("context", "content", "text", "instruction", "output", "question")


def corpus_texts(path: Path, limit: int | None = None) -> list[str]:
    """Texts to train a tokenizer on, from any of the project's JSONL files.

    Reads corpus records (`content`/`context`/`text`), SQuAD records (their context, questions
    and answers) and instruction files (`instruction`/`output`)."""
    texts: list[str] = []
    for _, obj in read_objects(Path(path), FinetuneError, required=True):
        texts.extend(obj[f] for f in _TEXT_FIELDS if isinstance(obj.get(f), str))
        for question in obj.get("questions") or []:
            if isinstance(question, dict):
                texts.append(str(question.get("question", "")))
                texts.extend(str(a) for a in question.get("answers") or [])
        if limit is not None and len(texts) >= limit:
            break
    if not texts:
        raise FinetuneError(f"{path}: no text found in fields {', '.join(_TEXT_FIELDS)} or 'questions'")
    return texts


def train_tokenizer(texts: list[str], vocab_size: int = 2000, chat_template: bool = False) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer (never an unknown token) that prepends <s> like Llama."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    bos_id = backend.token_to_id("<s>")
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<|user|>", "<|assistant|>"],
        model_max_length=4096,
    )
    if chat_template:
        tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def random_llama(tokenizer: PreTrainedTokenizerFast, seed: int = 0, **shape: Any) -> LlamaForCausalLM:
    """A randomly initialised Llama sized by `shape` (LlamaConfig fields) for `tokenizer`.

    `vocab_size` defaults to the tokenizer's; a larger one (the 8B shape's 128,256) is fine, the
    extra rows are simply never used."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=shape.pop("vocab_size", len(tokenizer)),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        **shape,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def make_tiny(
    out: Path,
    corpus: Path,
    *,
    vocab_size: int = 2000,
    chat_template: bool = False,
    seed: int = 0,
    shape: dict[str, Any] | None = None,
) -> Path:
    """Build and save (tokenizer + model, `save_pretrained` layout) a tiny Llama under `out`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FinetuneError(f"{out}: directory is not empty; choose a new --out for the tiny model")
    tokenizer = train_tokenizer(corpus_texts(corpus), vocab_size=vocab_size, chat_template=chat_template)
    model = random_llama(tokenizer, seed=seed, **{**TINY_SHAPE, **(shape or {})})
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    (out / "tiny_model.json").write_text(
        json.dumps(
            {
                "built_by": "python -m finetune make-tiny",
                "corpus": str(corpus),
                "vocab_size": len(tokenizer),
                "parameters": sum(p.numel() for p in model.parameters()),
                "chat_template": chat_template,
                "seed": seed,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return out
