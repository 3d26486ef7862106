"""What the teacher sees and what we keep: article text cannot inject prompt structure.

DSPy's ChatAdapter marks fields with `[[ ## name ## ]]` lines and parses the teacher's reply by
the same markers, so an article containing `[[ ## answer ## ]]` can end the article field early
in the prompt, and a teacher that copies it produces a reply that parses into the wrong fields
(wrong "empty answer" rejections). Chat-template tokens (`<|im_start|>`, `</s>`, `<|eot_id|>`,
`[INST]`, ...) in an article reach a local model's template verbatim and can end up in training
pairs, where they would teach a student to emit control tokens.

Articles are cleaned once, when the corpus is loaded: field markers are defused to single
brackets (`[ ## answer ## ]`, still readable), template tokens are removed. The counts go to
summary.json (`input_hygiene`) and a note. A pair whose instruction or answer still carries a
template token (a teacher can emit them on its own) is rejected by `template_token_in`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from foveate_dspy.corpus.readers import Article

FIELD_MARKER = re.compile(r"\[\[\s*##\s*([^\]#]*?)\s*##\s*\]\]")
TEMPLATE_TOKEN = re.compile(
    r"<\|[^|<>\s]{1,40}\|>"  # <|im_start|>, <|eot_id|>, <|endoftext|>, <|start_header_id|>, <|user|>, ...
    r"|</?s>|<<\s*/?\s*SYS\s*>>|\[/?INST\]"  # Llama 2 / Mistral
    r"|<(?:start|end)_of_turn>|<bos>|<eos>"  # Gemma
    r"|<\uff5c[^\uff5c<>]{1,40}\uff5c>",  # DeepSeek's full-width bars: <｜begin▁of▁sentence｜>
)


@dataclass
class HygieneReport:
    field_markers: int = 0
    template_tokens: int = 0
    changed: int = 0  # articles that were changed
    examples: list[str] = field(default_factory=list)  # the first ten of their ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "field_markers_defused": self.field_markers,
            "template_tokens_removed": self.template_tokens,
            "articles_changed": self.changed,
            "examples": self.examples,
        }

    def describe(self) -> str | None:
        if not self.changed:
            return None
        return (
            f"{self.changed} article(s) contained prompt markup: {self.field_markers} DSPy field marker(s) defused "
            f"([[ ## x ## ]] → [ ## x ## ]) and {self.template_tokens} chat-template token(s) removed, e.g. in {self.examples[0]!r}"
        )


def clean_text(text: str) -> tuple[str, int, int]:
    """(cleaned text, field markers defused, template tokens removed)."""
    text, markers = FIELD_MARKER.subn(lambda m: f"[ ## {m.group(1)} ## ]", text)
    text, tokens = TEMPLATE_TOKEN.subn("", text)
    return text, markers, tokens


class CleanedCorpus:
    """A corpus whose articles are cleaned as they are read: as re-iterable as its source, never
    held. `report` describes the last pass that read it to the end."""

    def __init__(self, source: Iterable[Article]) -> None:
        self.source = source
        self.report = HygieneReport()

    def __iter__(self) -> Iterator[Article]:
        report = HygieneReport()
        for article in self.source:
            text, markers, tokens = clean_text(article.text)
            if markers or tokens:
                report.field_markers += markers
                report.template_tokens += tokens
                report.changed += 1
                if len(report.examples) < 10:
                    report.examples.append(article.id)
                article = replace(article, text=text)
            yield article
        self.report = report


def template_token_in(*texts: str | None) -> str | None:
    """The first chat-template token or field marker in any of `texts`, or None."""
    for text in texts:
        if text:
            found = TEMPLATE_TOKEN.search(text) or FIELD_MARKER.search(text)
            if found:
                return found.group(0)
    return None
