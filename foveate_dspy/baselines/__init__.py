"""Baseline programs behind `--method`: Self-QA and Wiki2023-style QA extraction.

They return what SelfFoveate returns (Prediction(results=[Item], level_failures=[LevelFailure]))
and run under the same runner, teacher, store and filters, so every comparison is like for like.
Each item's `level` is the method name. A baseline asks for `n × multiplier` pairs per article,
where the runner passes the per-level budget n and the method registry sets the multiplier to the
number of active --levels: a baseline run and a Self-Foveate run with the same flags aim at the
same number of pairs per article. Baselines get no re-synthesis: they are the methods as
published, and re-synthesis is part of what Self-Foveate adds.
"""
