"""Provider error text is redacted before it is used or stored.

A provider's error message can echo what it was sent: an API key (`Incorrect API key provided:
sk-...`), an Authorization header, an endpoint URL with a password. That text becomes an item's
rejection reason, which re-synthesis shows the teacher as feedback and the store keeps; the key
must never travel further. Masked: values of credential-looking environment variables, bearer
tokens, `sk-`/`key-`/`token-` style keys, `api_key=` style query parameters, and the user:password
part of URLs.
"""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)$|SECRET|API_KEY", re.IGNORECASE)
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"(?i)\b(sk|pk|rk|key|token|hf|gsk|xai)[-_][A-Za-z0-9_\-]{6,}"), "***"),
    (re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|sig|signature)=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
)


def environment_secrets() -> list[str]:
    """Values of credential-looking environment variables (8 characters or more)."""
    return [value for name, value in os.environ.items() if _SECRET_NAME.search(name) and len(value) >= 8]


def redact(text: str) -> str:
    for secret in sorted(environment_secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
