"""Word tokenizers for SelfBLEU.

The default is NLTK's Treebank word tokenizer exactly as ``word_tokenize(s, preserve_line=True)``
applies it, without lowercasing: that is what the paper's SelfBLEU code used, and it needs no
downloaded NLTK data (``preserve_line`` skips the Punkt sentence splitter). sacrebleu's 13a
tokenizer is the option for people who want BLEU's usual MT tokenisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

TOKENIZERS = ("treebank", "13a")
DEFAULT_TOKENIZER = "treebank"


def get_tokenizer(name: str = DEFAULT_TOKENIZER) -> Callable[[str], list[str]]:
    """A function str -> tokens for ``name`` ("treebank" or "13a")."""
    if name == "treebank":
        # word_tokenize(s, preserve_line=True) is exactly this tokenizer on the whole string;
        # calling it directly skips word_tokenize's per-call overhead.
        from nltk.tokenize import NLTKWordTokenizer

        return NLTKWordTokenizer().tokenize
    if name == "13a":
        try:
            from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
        except ImportError as exc:  # optional dependency
            raise RuntimeError("the 13a tokenizer needs sacrebleu: pip install sacrebleu") from exc
        tokenize_13a = Tokenizer13a()
        return lambda text: tokenize_13a(text).split()
    raise ValueError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")


def tokenize_all(texts: Sequence[str], name: str = DEFAULT_TOKENIZER) -> list[list[str]]:
    """Tokenize every text with the named tokenizer."""
    tokenize = get_tokenizer(name)
    return [tokenize(text) for text in texts]
