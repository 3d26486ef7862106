"""Loading base models, tuned adapters and tokenizers, in 4-bit or full precision.

Local paths first: the machines this runs on cannot reach the Hugging Face hub, so a missing
path is reported as such instead of turning into a confusing hub lookup. Hub names still work
where the hub is reachable. bitsandbytes is imported only when 4-bit is asked for, because it is
an optional GPU-only dependency.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finetune.errors import FinetuneError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

RUN_CONFIG = "finetune_config.json"
ADAPTER_DIR = "adapter"
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_GGUF_MAGIC = b"GGUF"


def require_4bit() -> None:
    """Fail with one actionable line unless bitsandbytes and a CUDA GPU are both usable."""
    import torch

    problems = []
    if importlib.util.find_spec("bitsandbytes") is None:
        problems.append("bitsandbytes is not installed")
    if not torch.cuda.is_available():
        problems.append("no CUDA GPU is visible")
    if not problems:
        try:
            import bitsandbytes  # noqa: F401  (import only to prove it loads)
        except Exception as err:  # bitsandbytes raises assorted errors on unsupported setups
            problems.append(
                f"bitsandbytes fails to import ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
            )
    if problems:
        raise FinetuneError(
            f"4-bit QLoRA cannot run here: {' and '.join(problems)}; rerun with --no-quant for plain LoRA"
        )


def is_gguf_file(path: Path) -> bool:
    """True for a GGUF file (llama.cpp's format), known by its magic bytes, not its name."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(4) == _GGUF_MAGIC
    except OSError:
        return False


def resolve_model_source(name: str, role: str = "base model", gguf_file: str | None = None) -> str:
    """A local model directory, a GGUF file, or a hub name to try; a missing path is an error.

    A GGUF file (given as its path, or as a directory plus `gguf_file`) is returned as the file's
    absolute path: that one string is what run manifests record, and `_pretrained_args` turns it
    back into the directory + `gguf_file=` pair transformers wants."""
    path = Path(name).expanduser()
    if gguf_file is not None:
        if not path.is_dir():
            raise FinetuneError(f"--gguf-file needs {role} '{name}' to be a directory holding it")
        path = path / gguf_file
        if not path.is_file():
            raise FinetuneError(f"GGUF file '{path}' does not exist")
    if path.is_dir():
        return str(path.resolve())  # absolute, so a run directory still finds it from elsewhere
    if path.is_file():
        if is_gguf_file(path):
            return str(path.resolve())
        raise FinetuneError(
            f"{role} '{path}' is a file but not a GGUF file; expected a model directory (save_pretrained "
            "layout) or a .gguf file"
        )
    if not _HUB_NAME.fullmatch(name):
        raise FinetuneError(f"{role} path '{name}' does not exist")
    return name


def _pretrained_args(source: str) -> tuple[str, dict[str, Any]]:
    """`from_pretrained` arguments for a source: a GGUF file loads as (its directory,
    gguf_file=its name), which transformers dequantises to float weights (needs `gguf`)."""
    path = Path(source)
    if path.is_file():
        if importlib.util.find_spec("gguf") is None:
            raise FinetuneError(f"loading the GGUF file '{source}' needs the gguf package: pip install gguf")
        return str(path.parent), {"gguf_file": path.name}
    return source, {}


def _load_failure(name: str, err: Exception) -> FinetuneError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if Path(name).expanduser().is_file():
        return FinetuneError(f"transformers cannot load the GGUF file '{name}': {first}")
    if Path(name).expanduser().is_dir():
        return FinetuneError(f"cannot load model from '{name}': {first}")
    return FinetuneError(
        f"cannot load model '{name}': no such local directory, and the Hugging Face hub did not provide it ({first})"
    )


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """Silence one FutureWarning peft triggers inside transformers 5 (it still reads the renamed
    `is_gradient_checkpointing`); it is not the user's to act on and would show on every run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def compute_dtype() -> torch.dtype:
    """bf16 where the GPU supports it, fp16 on older GPUs, fp32 on CPU (CPU half is slow)."""
    import torch

    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _device_map() -> dict[str, Any] | None:
    import torch

    if torch.cuda.is_available():
        return {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return None


def load_tokenizer(source: str) -> PreTrainedTokenizerBase:
    """The model's tokenizer with a pad token (EOS when it has none, as Llama base models lack one)."""
    from transformers import AutoTokenizer

    location, extra = _pretrained_args(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **extra)
    except (OSError, ValueError, KeyError, NotImplementedError) as err:
        raise _load_failure(source, err) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(source: str, *, quant: bool, double_quant: bool = True) -> PreTrainedModel:
    """A causal LM in 4-bit NF4 (QLoRA's storage format, computing in bf16) or full precision."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": compute_dtype(), "device_map": _device_map()}
    if quant:
        require_4bit()
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=double_quant,
            bnb_4bit_compute_dtype=compute_dtype(),
        )
    location, extra = _pretrained_args(source)
    try:
        model = AutoModelForCausalLM.from_pretrained(location, **kwargs, **extra)
    except (OSError, ValueError, KeyError, NotImplementedError) as err:
        raise _load_failure(source, err) from None
    if extra:
        # The GGUF weights are float tensors now; transformers still tags the model as
        # "quantised with gguf", which would refuse LoRA training and save_pretrained. Drop the tag.
        model.hf_quantizer.remove_quantization_config(model)
    return model


@dataclass
class GenerationModel:
    """A model ready to answer, with what evaluation needs to know about how it was built."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    prompt_format: str | None
    description: dict[str, Any]


def describe_model_dir(model: str) -> dict[str, Any]:
    """Classify `--model`: a finished `finetune train` run, a bare PEFT adapter, or a full model
    (a base model evaluated untuned, the paper's "None" rows; a directory or a GGUF file)."""
    path = Path(model).expanduser()
    if (path / RUN_CONFIG).is_file():
        run = json.loads((path / RUN_CONFIG).read_text(encoding="utf-8"))
        if not (path / ADAPTER_DIR / "adapter_config.json").is_file():
            raise FinetuneError(
                f"{path} holds an unfinished training run (no {ADAPTER_DIR}/ yet); "
                "finish it with `python -m finetune train ... --resume`"
            )
        return {
            "kind": "finetune-run",
            "path": str(path),
            "base_model": run["base_model"],
            "adapter": str(path / ADAPTER_DIR),
            "quant": bool(run["config"]["quant"]),
            "double_quant": bool(run["config"]["double_quant"]),
            "prompt_format": run.get("prompt_format"),
        }
    if (path / "adapter_config.json").is_file():
        adapter = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
        return {
            "kind": "adapter",
            "path": str(path),
            "base_model": adapter["base_model_name_or_path"],
            "adapter": str(path),
            "quant": False,
            "double_quant": True,
            "prompt_format": None,
        }
    source = resolve_model_source(model, role="model")
    return {
        "kind": "model",
        "path": source,
        "base_model": source,
        "adapter": None,
        "quant": False,
        "double_quant": True,
        "prompt_format": None,
    }


def load_for_generation(model: str, *, quant: bool | None = None) -> GenerationModel:
    """Load `--model` for answering; `quant` None follows how the run was trained.

    A LoRA adapter on a full-precision base is merged into it, which makes generation as fast
    as the base model's; on a 4-bit base it stays separate (merging into NF4 weights loses)."""
    info = describe_model_dir(model)
    use_quant = info["quant"] if quant is None else quant
    base = resolve_model_source(info["base_model"])
    tokenizer_source = info["adapter"] if info["adapter"] and _has_tokenizer(Path(info["adapter"])) else base
    tokenizer = load_tokenizer(tokenizer_source)
    lm = load_causal_lm(base, quant=use_quant, double_quant=info["double_quant"])
    if info["adapter"]:
        from peft import PeftModel

        with quiet_peft():
            lm = PeftModel.from_pretrained(lm, info["adapter"])
        if not use_quant:
            lm = lm.merge_and_unload()
    lm.eval()
    if lm.generation_config.pad_token_id is None:
        lm.generation_config.pad_token_id = tokenizer.pad_token_id
    info = {**info, "quant": use_quant}
    return GenerationModel(lm, tokenizer, info["prompt_format"], info)


def _has_tokenizer(path: Path) -> bool:
    return (path / "tokenizer_config.json").is_file()
