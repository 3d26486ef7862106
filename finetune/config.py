"""Training hyperparameters: the paper's defaults, a config file, and flags, in that order.

Every field of `TrainConfig` is a flag (`--learning-rate`, with short aliases such as `--lr`)
and a config-file key (`learning_rate`), so one name serves both and nothing can drift.
Defaults are appendix I, Table 11 of the Self-Foveate paper (run with LLaMA-Factory).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError

PROMPT_FORMATS = ("auto", "chat", "plain")


def _option(default: Any, help: str, *aliases: str, choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "aliases": aliases, "choices": choices})


@dataclass(frozen=True)
class TrainConfig:
    """One fine-tuning run's settings; defaults reproduce the paper's QLoRA setup."""

    quant: bool = _option(True, "4-bit NF4 QLoRA via bitsandbytes (needs CUDA); --no-quant trains plain LoRA")
    double_quant: bool = _option(True, "quantise the 4-bit quantisation constants too (QLoRA double quant)")
    lora_r: int = _option(8, "LoRA rank", "--rank")
    lora_alpha: int = _option(16, "LoRA alpha (scaling = alpha / r)")
    lora_dropout: float = _option(0.0, "dropout on the LoRA path")
    target_modules: str = _option(
        "all-linear", "comma-separated module names to adapt, or 'all-linear' (every linear layer but the head)"
    )
    learning_rate: float = _option(1e-4, "peak learning rate", "--lr")
    num_train_epochs: float = _option(5.0, "passes over the data", "--epochs")
    max_steps: int = _option(-1, "stop after this many optimiser steps (-1: run all epochs)")
    lr_scheduler_type: str = _option("cosine", "transformers scheduler name", "--scheduler")
    warmup_steps: int = _option(0, "linear warmup steps")
    per_device_train_batch_size: int = _option(4, "sequences per forward pass", "--batch-size")
    gradient_accumulation_steps: int = _option(
        4, "forward passes per optimiser step; effective batch = batch size x this x processes", "--grad-accum"
    )
    cutoff_len: int = _option(2048, "longest tokenised prompt+answer; longer records are truncated and counted")
    optim: str = _option("adamw_torch", "transformers optimiser name")
    max_grad_norm: float = _option(1.0, "gradient clipping norm")
    weight_decay: float = _option(0.0, "AdamW weight decay")
    gradient_checkpointing: bool = _option(True, "recompute activations to save memory (slower)")
    prompt_format: str = _option(
        "auto", "chat template when the tokenizer has one (auto), or force chat/plain", choices=PROMPT_FORMATS
    )
    seed: int = _option(42, "seed for LoRA initialisation and data order")
    logging_steps: int = _option(10, "log the loss every N optimiser steps")
    save_steps: int = _option(200, "write a resumable checkpoint every N optimiser steps")
    save_total_limit: int = _option(2, "checkpoints kept on disk (older ones are deleted)")

    @property
    def effective_batch_size(self) -> int:
        """Sequences per optimiser step on one process (the paper's 16 = 4 x 4 by default)."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """Add one flag per TrainConfig field; defaults stay None so the file/flag merge can tell
    an explicit flag from an untouched one."""
    group = parser.add_argument_group("training hyperparameters (defaults: the paper's appendix I)")
    for name, spec in FIELDS.items():
        flags = [f"--{name.replace('_', '-')}", *spec.metadata["aliases"]]
        help_text = f"{spec.metadata['help']} (default: {spec.default})"
        if spec.type == "bool":
            group.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            group.add_argument(
                *flags,
                dest=name,
                type=_PARSERS[spec.type],
                default=None,
                choices=spec.metadata["choices"],
                help=help_text,
                metavar=_METAVARS[spec.type] if spec.metadata["choices"] is None else None,
            )


_PARSERS = {"int": int, "float": float, "str": str}
_METAVARS = {"int": "N", "float": "X", "str": "NAME"}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Convert a config-file value to the field's type (YAML reads `1e-4` as a string)."""
    kind = FIELDS[name].type
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "yes", "1"):
                return True
            if str(value).lower() in ("false", "no", "0"):
                return False
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise ValueError(value)  # NaN passes every range check written as `value <= 0`
            return float(value)
        if isinstance(value, (dict, list)):
            raise ValueError(value)
        value = str(value)
        choices = FIELDS[name].metadata["choices"]
        if choices and value not in choices:
            raise ValueError(value)
        return value
    except (TypeError, ValueError):
        raise FinetuneError(f"{source}: '{name}' must be {kind}, got {value!r}") from None


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML mapping of TrainConfig fields; name unknown keys and bad values."""
    path = Path(path)
    if not path.is_file():
        raise FinetuneError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # json.JSONDecodeError or yaml.YAMLError, both user-fixable
        raise FinetuneError(f"{path}: cannot parse config file ({err})".replace("\n", " ")) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FinetuneError(f"{path}: config file must hold a mapping of setting: value")
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in FIELDS:
            raise FinetuneError(f"{path}: unknown setting '{key}' (known: {', '.join(FIELDS)})")
        values[name] = _coerce(name, value, str(path))
    return values


def resolve_config(config_file: Path | None, flags: dict[str, Any]) -> TrainConfig:
    """Paper defaults, overridden by the config file, overridden by explicit flags."""
    values = read_config_file(config_file) if config_file else {}
    values.update({k: v for k, v in flags.items() if k in FIELDS and v is not None})
    config = TrainConfig(**values)
    for name in ("lora_r", "per_device_train_batch_size", "gradient_accumulation_steps", "cutoff_len"):
        if getattr(config, name) < 1:
            raise FinetuneError(f"'{name}' must be at least 1, got {getattr(config, name)}")
    if config.learning_rate <= 0:
        raise FinetuneError(f"'learning_rate' must be positive, got {config.learning_rate}")
    if config.max_steps == 0 or config.max_steps < -1:
        raise FinetuneError(f"'max_steps' must be -1 or a positive count, got {config.max_steps}")
    return config
