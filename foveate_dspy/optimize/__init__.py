"""Optimising the synthesis program with a DSPy teleprompter (`compile --optimize`): the search, its CLI options, its gate and offline stand-ins."""
