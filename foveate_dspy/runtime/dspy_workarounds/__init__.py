"""Workarounds for DSPy and CPython behaviour, in one place: memoised lookups DSPy repeats on every call, a thread-safe ast.parse."""
