"""Macro-foveation (paper §3.3): key sentences with rhetorical devices, then transcription.

Sentences that compare, contrast, quote or use figures of speech carry the article's holistic
meaning; turning each into a question or imperative keeps that layer in the dataset.
"""

from __future__ import annotations

import random

import dspy

from foveate_dspy.runtime.calls import CallFailed, call_predictor
from foveate_dspy.method.extraction import ExtractionLog, extract_valid, no_valid
from foveate_dspy.corpus.language import output_language
from foveate_dspy.method.proposals import FoveationLevel, LevelFailed, Proposal, failed_batch, match_by_echo
from foveate_dspy.method.rules import key_sentence_flag
from signatures.macro import ExtractKeySentences, RegenerateFromKeySentence, TranscriptionSynthesis


class MacroFoveate(FoveationLevel):
    name = "macro"
    feature_field = "key_sentence"

    def __init__(self, rules: bool = True) -> None:
        super().__init__()
        self.rules = rules
        self.extract = dspy.Predict(ExtractKeySentences)
        self.synthesize = dspy.Predict(TranscriptionSynthesis)
        self.regenerate = dspy.Predict(RegenerateFromKeySentence)

    async def propose(self, article: str, n: int, rng: random.Random, log: ExtractionLog | None = None) -> list[Proposal]:
        log = log if log is not None else ExtractionLog(self.name, n)
        found = await extract_valid(
            self.extract,
            "macro.extract",
            "key_sentences",
            self.feature_check(article),
            n,
            log,
            "key-sentence",
            article=article,
            count=n,
        )
        sentences = found[:n]
        if not sentences:
            raise LevelFailed(f"key-sentence extraction returned no sentences{no_valid(log)}")
        log.filled = len(sentences)
        log.flagged.update(flag for flag in map(key_sentence_flag, sentences) if flag)
        try:
            made = await call_predictor(
                self.synthesize, "macro.synthesize", article=article, key_sentences=sentences, language=output_language()
            )
        except CallFailed as failure:
            return failed_batch(sentences, failure.reason)
        return match_by_echo(sentences, made.questions, lambda entry: entry.key_sentence, "key sentence")
