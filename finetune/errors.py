"""The one exception type the CLI turns into a single stderr line and a non-zero exit."""


class FinetuneError(Exception):
    """A problem with the user's input or setup (bad file, missing model, no GPU for 4-bit).

    Raised instead of letting library tracebacks escape, because users fix these by changing a
    flag or a file, and a named file, line or flag tells them which."""
