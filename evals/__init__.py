"""Evaluation suite for instruction sets: SelfBLEU and embedding diversity, difficulty
head-to-head, answer quality, an HTML-free report (JSON, Markdown, PNG) and a regression check.

The pure functions live in the submodules (``selfbleu``, ``embedding``, ``diversity``,
``difficulty``, ``quality``, ``report``, ``regression``); ``python -m evals`` is the CLI.
Nothing heavy is imported here, so ``python -m evals --help`` stays fast.
"""
