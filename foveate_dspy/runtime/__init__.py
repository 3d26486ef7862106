"""Running a program over a corpus: the runner, the run store, calls and their limits, the call ledger, admission, endpoints, usage, progress, the Ray executor."""
