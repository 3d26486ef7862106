"""Word tokenizers for SelfBLEU.

The default is NLTK's Treebank word tokenizer exactly as ``word_tokenize(s, preserve_line=True)``
applies it, without lowercasing: that is what the paper's SelfBLEU code used, and it needs no
downloaded NLTK data (``preserve_line`` skips the Punkt sentence splitter). sacrebleu's 13a
tokenizer is the option for people who want BLEU's usual MT tokenisation.

Treebank and 13a split at spaces, so a Chinese or Japanese instruction would be one or two
"words" and every SelfBLEU n-gram would be whole sentences. For those, sacrebleu offers ``zh``
(every Han character a token, other text as 13a: the WMT convention for Chinese BLEU), ``char``
(every character but spaces a token: Japanese, Thai) and ``intl`` (Unicode punctuation split off
everywhere). ``auto`` detects each instruction's language (``foveate_dspy.corpus.language``) and uses
``zh`` for Chinese, ``char`` for the languages of AUTO_CHAR, the default Treebank tokenizer for
the rest, so an English set scores exactly as with ``treebank``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

TOKENIZERS = ("treebank", "13a", "zh", "char", "intl", "auto")
DEFAULT_TOKENIZER = "treebank"
AUTO_CHAR = frozenset({"ja", "th", "lo", "km", "my"})  # scripts written without spaces between words


def _sacrebleu(name: str) -> Callable[[str], list[str]]:
    try:
        if name == "13a":
            from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a as Tokenizer
        elif name == "zh":
            from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh as Tokenizer
        elif name == "char":
            from sacrebleu.tokenizers.tokenizer_char import TokenizerChar as Tokenizer
        else:
            from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International as Tokenizer
    except ImportError as exc:  # optional dependency
        raise RuntimeError(f"the {name} tokenizer needs sacrebleu: pip install sacrebleu") from exc
    tokenize = Tokenizer()
    return lambda text: tokenize(text).split()


def _auto() -> Callable[[str], list[str]]:
    from foveate_dspy.corpus.language import detect_language

    by_name: dict[str, Callable[[str], list[str]]] = {}

    def tokenize(text: str) -> list[str]:
        language = detect_language(text)
        name = "zh" if language == "zh" else "char" if language in AUTO_CHAR else DEFAULT_TOKENIZER
        if name not in by_name:
            by_name[name] = get_tokenizer(name)
        return by_name[name](text)

    return tokenize


def get_tokenizer(name: str = DEFAULT_TOKENIZER) -> Callable[[str], list[str]]:
    """A function str -> tokens for ``name`` (one of TOKENIZERS)."""
    if name == "treebank":
        # word_tokenize(s, preserve_line=True) is exactly this tokenizer on the whole string;
        # calling it directly skips word_tokenize's per-call overhead.
        from nltk.tokenize import NLTKWordTokenizer

        return NLTKWordTokenizer().tokenize
    if name in ("13a", "zh", "char", "intl"):
        return _sacrebleu(name)
    if name == "auto":
        return _auto()
    raise ValueError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")


def tokenize_all(texts: Sequence[str], name: str = DEFAULT_TOKENIZER) -> list[list[str]]:
    """Tokenize every text with the named tokenizer."""
    tokenize = get_tokenizer(name)
    return [tokenize(text) for text in texts]
