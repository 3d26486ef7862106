"""JSON that is always JSON: NaN and infinities become null.

Python's json writes NaN and Infinity by default, which no strict JSON reader accepts (jq, the
browser, most languages). A metric can legitimately be undefined (an empty sample, a loss that
overflowed); it is written as null, and `allow_nan=False` guards against any value slipping past.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (recursively through dicts, lists, tuples)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps of `finite(value)`, refusing anything non-finite that remains."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
