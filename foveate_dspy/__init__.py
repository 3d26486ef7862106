"""foveate_dspy: Self-Foveate instruction synthesis as a DSPy program.

Heavy modules (dspy, sentence-transformers, torch) are imported by the submodules that need them,
so `python -m foveate_dspy.compile --help` answers at once.
"""

__version__ = "0.1.0"
