"""QLoRA / LoRA fine-tuning of a causal LM on an instructions.jsonl, resumable.

A run directory holds everything about one run, so a crashed or pre-empted job continues where
its last checkpoint left off, and a finished one is never silently overwritten:

    OUT/finetune_config.json   what was asked (base model, data and its sha256, hyperparameters)
    OUT/checkpoints/           transformers Trainer checkpoints (optimiser state included)
    OUT/log_history.jsonl      every logged loss / learning rate, one line per log
    OUT/adapter/               the final LoRA adapter and tokenizer (input to `evaluate`)
    OUT/train_summary.json     written last: its presence means the run finished
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finetune.config import TrainConfig
from finetune.decontaminate import Decontamination, flag_instructions
from finetune.errors import FinetuneError
from finetune.modeling import (
    ADAPTER_DIR,
    RUN_CONFIG,
    load_causal_lm,
    load_tokenizer,
    quiet_peft,
    require_4bit,
    resolve_model_source,
)
from finetune.data import load_instructions
from finetune.prompts import resolve_prompt_format
from foveate_dspy import json_safe

SUMMARY = "train_summary.json"
DECONTAMINATION = "decontamination.json"
LOG_HISTORY = "log_history.jsonl"
CHECKPOINTS = "checkpoints"

#: Settings that may change between a run and its resumption without changing the result.
_RESUME_SAFE = {"logging_steps", "save_steps", "save_total_limit"}


def _log(message: str) -> None:
    print(f"[finetune] {message}", file=sys.stderr, flush=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _last_checkpoint(out: Path) -> Path | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / CHECKPOINTS
    found = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    return Path(found) if found else None


def _manifest_conflicts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    conflicts = [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in ("base_model", "data_sha256", "decontaminate")
        if old.get(key) != new.get(key)
    ]
    old_cfg, new_cfg = old.get("config", {}), new["config"]
    conflicts += [
        f"{key}: {old_cfg.get(key)!r} -> {value!r}"
        for key, value in new_cfg.items()
        if key not in _RESUME_SAFE and old_cfg.get(key) != value
    ]
    return conflicts


def prepare_run_dir(out: Path, manifest: dict[str, Any], *, resume: bool, overwrite: bool) -> tuple[str, Path | None]:
    """Decide what to do with `out`: ("fresh", None), ("resume", checkpoint) or ("finished", None).

    Refuses, naming the directory and the way forward, rather than mixing two runs' files."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return "fresh", None
    if not out.is_dir():
        raise FinetuneError(f"--out {out} is a file; expected a directory")
    if not (out / RUN_CONFIG).is_file():
        raise FinetuneError(f"--out {out} is not empty and holds no finetune run; choose another --out")
    if overwrite:
        shutil.rmtree(out)
        return "fresh", None
    finished = (out / SUMMARY).is_file()
    checkpoint = _last_checkpoint(out)
    if not resume:
        if finished:
            raise FinetuneError(
                f"--out {out} already holds a finished run ({SUMMARY}); "
                "pass --overwrite to replace it or choose another --out"
            )
        where = f"last checkpoint {checkpoint.name}" if checkpoint else "no checkpoint yet"
        raise FinetuneError(
            f"--out {out} holds an unfinished run ({where}); pass --resume to continue it or --overwrite to start over"
        )
    old = json.loads((out / RUN_CONFIG).read_text(encoding="utf-8"))
    conflicts = _manifest_conflicts(old, manifest)
    if conflicts:
        raise FinetuneError(
            f"--resume: {out} was started with other settings ({'; '.join(conflicts)}); "
            "use the original settings, --overwrite, or another --out"
        )
    if finished:
        return "finished", None
    return "resume", checkpoint


def encode_records(records: list, tokenizer: Any, fmt: str, cutoff_len: int) -> tuple[list[dict[str, list[int]]], int]:
    """Tokenise every pair with answer-only labels; return the examples and how many were cut."""
    from finetune.prompts import encode_example

    examples, truncated = [], 0
    for record in records:
        encoded = encode_example(tokenizer, record.instruction, record.output, fmt, cutoff_len)
        truncated += encoded.truncated
        examples.append({"input_ids": encoded.input_ids, "labels": encoded.labels})
    return examples, truncated


def _trim_log_history(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint a resumed run restarts from: those steps are
    trained again and logged anew, and the curve must not show them twice. A line torn by the
    crash is dropped too."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def _precision_flags() -> dict[str, bool]:
    import torch

    if not torch.cuda.is_available():
        return {"bf16": False, "fp16": False}
    bf16 = torch.cuda.is_bf16_supported()
    return {"bf16": bf16, "fp16": not bf16}


def _peak_memory() -> dict[str, float | None]:
    """Peak GPU memory since the last reset (allocated by tensors, and reserved by torch's
    caching allocator, GiB) and peak resident memory of this process (MiB; Linux ru_maxrss is KiB)."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "peak_gpu_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3) if cuda else None,
        "peak_gpu_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 3) if cuda else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _callbacks(out: Path, show_progress: bool, log: Callable[[str], None]) -> list[Any]:
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class LogHistoryWriter(TrainerCallback):
        """Append each log record to log_history.jsonl as it happens, so a crashed run's
        curve survives and a resumed run extends it."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and state.is_world_process_zero:
                with (out / LOG_HISTORY).open("a", encoding="utf-8") as handle:
                    handle.write(json_safe.dumps({"step": state.global_step, "epoch": state.epoch, **logs}) + "\n")

    class ProgressReporter(TrainerCallback):
        """A step bar and one loss line per log on stderr, keeping stdout for the summary."""

        bar: Any = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.bar = tqdm(
                    total=state.max_steps,
                    initial=state.global_step,
                    desc="training",
                    unit="step",
                    file=sys.stderr,
                    disable=not show_progress,
                )

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or not state.is_world_process_zero or "loss" not in logs:
                return
            line = (
                f"step {state.global_step}/{state.max_steps} epoch {state.epoch:.2f} "
                f"loss {logs['loss']:.4f} lr {logs.get('learning_rate', 0):.3g}"
            )
            if self.bar is not None and show_progress:
                self.bar.write(f"[finetune] {line}", file=sys.stderr)
            else:
                log(line)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

    return [LogHistoryWriter(), ProgressReporter()]


def train(
    data: Path,
    base_model: str,
    out: Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
    decontaminate: Decontamination | None = None,
    log: Callable[[str], None] = _log,
) -> dict[str, Any]:
    """Fine-tune `base_model` (a model directory or a GGUF file) on `data` into `out`; return
    (and write) the run summary. With `decontaminate`, records that nearly copy a test question
    are left out first, and what was dropped goes to OUT/decontamination.json.

    Under a multi-GPU launch only the main process saves and summarises (others return {})."""
    if config.quant:
        require_4bit()  # before any slow work: one clear line where 4-bit cannot run
    data, out = Path(data), Path(out)
    records = load_instructions(data)
    base = resolve_model_source(base_model)
    if decontaminate is not None:
        decontaminate.validate()
    manifest = _manifest(base, data, len(records), decontaminate, config)
    state, checkpoint = prepare_run_dir(out, manifest, resume=resume, overwrite=overwrite)
    if state == "finished":
        log(f"{out} already finished; nothing to resume")
        return json.loads((out / SUMMARY).read_text(encoding="utf-8"))
    records, contamination = _decontaminated(records, data, decontaminate, log)
    tokenizer = load_tokenizer(base)
    fmt = resolve_prompt_format(tokenizer, config.prompt_format)
    examples, truncated = encode_records(records, tokenizer, fmt, config.cutoff_len)
    if truncated:
        log(f"{truncated} of {len(records)} records exceed cutoff_len={config.cutoff_len} tokens and were truncated")
    _write_inputs(out, {**manifest, "prompt_format": fmt}, contamination)
    model, trainable, total = _announced_model(base, config, len(records), fmt, log)
    trainer = _trainer(model, tokenizer, examples, out, config, _callbacks(out, show_progress, log))
    result, elapsed, tokens_before = _train_session(trainer, out, checkpoint, log)
    if not trainer.is_world_process_zero():
        return {}
    model.save_pretrained(out / ADAPTER_DIR)
    tokenizer.save_pretrained(out / ADAPTER_DIR)
    summary = {
        **_data_figures(base, data, len(records), contamination, truncated, fmt),
        "quant": "4-bit nf4" + (" double-quant" if config.double_quant else "") if config.quant else "none",
        "trainable_parameters": trainable,
        "total_parameters": total,
        **_session_figures(trainer, result, checkpoint, elapsed, tokens_before),
        "config": dataclasses.asdict(config),
    }
    (out / SUMMARY).write_text(json_safe.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log(f"finished: {trainer.state.global_step} steps, train loss {result.training_loss:.4f}, adapter in {out / ADAPTER_DIR}")
    return summary


def _manifest(
    base: str, data: Path, n_records: int, decontaminate: Decontamination | None, config: TrainConfig
) -> dict[str, Any]:
    """What the run was asked: a resume must match it (prepare_run_dir)."""
    return {
        "base_model": base,
        "data": str(data.resolve()),
        "data_sha256": file_sha256(data),
        "n_records": n_records,
        "decontaminate": dataclasses.asdict(decontaminate) if decontaminate else None,
        "config": dataclasses.asdict(config),
    }


def _train_session(trainer: Any, out: Path, checkpoint: Path | None, log: Callable[[str], None]) -> tuple[Any, float, int]:
    """Train from `checkpoint` (or from the start); return the Trainer's result, the seconds it
    took and the tokens the checkpoint had already seen. Peak memory counts this session only."""
    import torch

    tokens_before = _resume_point(out, checkpoint, log)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    return result, time.perf_counter() - started, tokens_before


def _data_figures(
    base: str, data: Path, n_records: int, contamination: dict[str, Any] | None, truncated: int, fmt: str
) -> dict[str, Any]:
    """The summary's figures of what was trained on: model, data, decontamination, truncation."""
    return {
        "base_model": base,
        "data": str(data),
        "n_records": n_records,
        "decontamination": (
            {k: v for k, v in contamination.items() if k != "dropped"} if contamination is not None else None
        ),
        "n_truncated": truncated,
        "prompt_format": fmt,
    }


def _decontaminated(
    records: list, data: Path, decontaminate: Decontamination | None, log: Callable[[str], None]
) -> tuple[list, dict[str, Any] | None]:
    """The records that do not nearly copy a test question, and the decontamination report."""
    if decontaminate is None:
        return records, None
    flags, contamination = flag_instructions(data, decontaminate)
    records = [record for record, flagged in zip(records, flags, strict=True) if not flagged]
    log(f"decontamination against {decontaminate.against}: dropped {contamination['n_dropped']} of "
        f"{contamination['n_input']} records ({contamination['dropped_by_ngram']} by n-gram, "
        f"{contamination['dropped_by_cosine']} by cosine)")
    if not records:
        raise FinetuneError(f"{data}: every record nearly copies a test question; nothing left to train on")
    return records, contamination


def _write_inputs(out: Path, manifest: dict[str, Any], contamination: dict[str, Any] | None) -> None:
    """OUT/run_config.json (what a resume must match) and OUT/decontamination.json."""
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_CONFIG).write_text(json_safe.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if contamination is not None:
        (out / DECONTAMINATION).write_text(json_safe.dumps(contamination, indent=2) + "\n", encoding="utf-8")


def _announced_model(base: str, config: TrainConfig, n_records: int, fmt: str, log: Callable[[str], None]) -> tuple[Any, int, int]:
    """The LoRA model, its trainable and total parameter counts, announced in one log line."""
    model = _lora_model(base, config)
    trainable, total = model.get_nb_trainable_parameters()
    log(
        f"{n_records} records, prompt format {fmt}, {'4-bit QLoRA' if config.quant else 'LoRA'} "
        f"r={config.lora_r}, {trainable:,} trainable of {total:,} parameters, "
        f"effective batch {config.effective_batch_size}"
    )
    return model, trainable, total


def _lora_model(base: str, config: TrainConfig) -> Any:
    """The base model with LoRA adapters on `config.target_modules` (4-bit weights under QLoRA)."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    model = load_causal_lm(base, quant=config.quant, double_quant=config.double_quant)
    if config.quant:
        # Freezes the 4-bit weights and upcasts norms to fp32 for stable training; activation
        # checkpointing is switched on by the Trainer below for both paths alike.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    target = config.target_modules if config.target_modules == "all-linear" else config.target_modules.split(",")
    with quiet_peft():
        return get_peft_model(
            model,
            LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=target,
                bias="none",
                task_type="CAUSAL_LM",
            ),
        )


def _trainer(model: Any, tokenizer: Any, examples: list, out: Path, config: TrainConfig, callbacks: list[Any]) -> Any:
    """A transformers Trainer for `config`, checkpointing under OUT/checkpoints, printing nothing."""
    import torch
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        optim=config.optim,
        max_grad_norm=config.max_grad_norm,
        weight_decay=config.weight_decay,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        report_to="none",
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=True,  # ProgressReporter draws the bar on stderr instead
        dataloader_pin_memory=torch.cuda.is_available(),
        **_precision_flags(),
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=DataCollatorForSeq2Seq(
            tokenizer, padding=True, pad_to_multiple_of=8 if torch.cuda.is_available() else None
        ),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # its dict dumps would clutter stdout
    return trainer


def _resume_point(out: Path, checkpoint: Path | None, log: Callable[[str], None]) -> int:
    """Tokens the checkpoint had already seen (0 for a fresh run); the log history is cut back to it."""
    if not checkpoint:
        return 0
    log(f"resuming from {checkpoint}")
    _trim_log_history(out / LOG_HISTORY, int(checkpoint.name.rsplit("-", 1)[-1]))
    state_file = checkpoint / "trainer_state.json"
    return json.loads(state_file.read_text(encoding="utf-8")).get("num_input_tokens_seen", 0)


def _session_figures(trainer: Any, result: Any, checkpoint: Path | None, elapsed: float, tokens_before: int) -> dict[str, Any]:
    """The summary's figures of this training session: steps, losses, speed, device, memory."""
    import torch

    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    tokens = trainer.state.num_input_tokens_seen - tokens_before

    return {
        "global_step": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "train_loss": result.training_loss,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "resumed_from": checkpoint.name if checkpoint else None,
        "session_seconds": round(elapsed, 2),
        "session_tokens": tokens,
        "train_tokens_per_second": round(tokens / elapsed, 1) if elapsed > 0 else None,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        **_peak_memory(),
    }
