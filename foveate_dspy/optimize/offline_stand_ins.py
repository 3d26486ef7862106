"""Offline stand-ins for the teleprompters' own LM calls (registered on import).

MIPROv2 asks its prompt model to propose instructions and GEPA asks its reflection LM to
rewrite an instruction from feedback. With the offline teacher there is no LM to ask, so these
rules answer instead, deterministically. They are heuristics, not reflection: GEPA's rule appends
the advice sentences the metric's feedback repeats most often; MIPROv2's rule applies the tip it
was given (shorten, add a persona, add stakes, ask for specifics). They exist so `--optimize mipro`
and `--optimize gepa` run end to end in CI; real gains need a real LM (`--optimize-lm`).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

from foveate_dspy.teachers.offline.registry import Call, register_handler

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
ADVICE_PER_PROPOSAL = 2


def advice_sentences(examples: Any) -> Counter[str]:
    """The closing sentence of each feedback line after the first (the score line), counted
    over the examples: optimize.feedback_text ends every problem line with its advice."""
    counts: Counter[str] = Counter()
    for example in examples if isinstance(examples, list) else []:
        feedback = str(example.get("Feedback", "")) if isinstance(example, dict) else ""
        for line in feedback.splitlines()[1:]:
            sentences = [s for s in _SENTENCE_END.split(line.strip()) if s]
            if sentences:
                counts[sentences[-1]] += 1
    return counts


def propose_from_feedback(call: Call) -> dict[str, Any]:
    current = str(call.inputs.get("current_instruction", "")).strip()
    advice = [a for a, _ in advice_sentences(call.inputs.get("examples_with_feedback")).most_common() if a not in current]
    addition = " ".join(advice[:ADVICE_PER_PROPOSAL])
    return {"new_instruction": f"{current}\n\n{addition}".strip() if addition else current}


def propose_from_tip(call: Call) -> dict[str, Any]:
    basic = str(call.inputs.get("basic_instruction", "")).strip()
    tip = str(call.inputs.get("tip", "")).lower()
    if "concise" in tip:
        proposed = basic.split("\n\n")[0]
    elif "persona" in tip:
        proposed = f"You are a careful writer of reading-comprehension data. {basic}"
    elif "high stakes" in tip:
        proposed = f"{basic} The results train a model that must say exactly what the article says, so precision matters most."
    elif "descriptive" in tip:
        proposed = f"{basic} Be specific: name the people, places, dates and quantities involved."
    else:
        proposed = basic
    return {"proposed_instruction": proposed}


register_handler(
    frozenset({"current_instruction", "examples_with_feedback"}), frozenset({"new_instruction"}), propose_from_feedback
)
# MIPROv2 adds task demos, instruction history and a tip to its proposal signature as configured.
for _optional in itertools.chain.from_iterable(
    itertools.combinations(("task_demos", "previous_instructions", "tip"), k) for k in range(4)
):
    register_handler(
        frozenset({"basic_instruction", *_optional}), frozenset({"proposed_instruction"}), propose_from_tip
    )
