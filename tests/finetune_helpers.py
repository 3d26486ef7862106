"""Shared builders for the finetune tests: tiny models and small instruction files.

Built once per test session (cached) in a private temporary directory, because several test
modules need the same tiny Llama and building it costs a few seconds.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

SQUAD_SMALL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "squad11_dev_small100.jsonl"
_ROOT = Path(tempfile.mkdtemp(prefix="finetune-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


def squad_small() -> Path:
    """The SQuAD small file beside the project; the calling test skips when it is absent (as the
    `shared_data` fixture does), instead of failing on a checkout without ../shared."""
    import pytest

    if not SQUAD_SMALL.is_file():
        pytest.skip(f"shared data not found at {SQUAD_SMALL.parent}")
    return SQUAD_SMALL


@functools.cache
def tiny_model(chat_template: bool = False) -> Path:
    """A tiny random Llama (tokenizer trained on the SQuAD small file) saved with save_pretrained."""
    import torch

    from finetune.tiny import make_tiny

    torch.set_num_threads(1)
    return make_tiny(_ROOT / f"tiny-{'chat' if chat_template else 'plain'}", squad_small(), chat_template=chat_template)


@functools.cache
def tiny_tokenizer(chat_template: bool = False):
    from finetune.tiny import corpus_texts, train_tokenizer

    return train_tokenizer(corpus_texts(squad_small()), chat_template=chat_template)


def squad_records(limit_questions: int) -> list[dict]:
    """(article id, question, first gold answer) of the first questions of the SQuAD small file."""
    rows = []
    with squad_small().open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            for question in record["questions"]:
                if len(rows) == limit_questions:
                    return rows
                rows.append(
                    {
                        "id": question["id"],
                        "article_id": record["id"],
                        "level": "micro",
                        "instruction": question["question"],
                        "output": question["answers"][0],
                        "method": "squad-gold",
                    }
                )
    return rows


def write_instructions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def scripted_judge_lm():
    """A DSPy LM whose reply depends on the generated answer in the prompt (thread-order safe):
    'good' -> Correct, 'bad' -> Incorrect, anything else -> a reply with no verdict field."""
    import dspy

    def reply(request) -> str:
        text = str(request)
        if "good answer" in text:
            return "[[ ## verdict ## ]]\nCorrect\n\n[[ ## completed ## ]]"
        if "bad answer" in text:
            return "[[ ## verdict ## ]]\nIncorrect\n\n[[ ## completed ## ]]"
        return "I think it is probably fine."

    def response(request):
        return dspy.lm15.Response(
            id=None,
            model="x",
            message=dspy.lm15.Message.assistant([dspy.lm15.TextPart(reply(request))]),
            finish_reason="stop",
            usage=dspy.lm15.Usage(input_tokens=0, output_tokens=0, total_tokens=0),
        )

    class Engine:
        calls = 0

        def complete(self, request):
            Engine.calls += 1
            return response(request)

        def close(self) -> None:
            pass

    class AsyncEngine:
        async def complete(self, request):
            return response(request)

        async def aclose(self) -> None:
            pass

    return dspy.LM("offline/scripted", engine=Engine(), async_engine=AsyncEngine(), cache=False), Engine
