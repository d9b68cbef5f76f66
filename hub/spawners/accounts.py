"""Platform user names → OS account names that are valid, unique and recognisable."""

from __future__ import annotations

import hashlib
import re

_MAX = 32  # useradd's limit


def os_username(name: str, prefix: str = "sdl-") -> str:
    """`alice` → `sdl-alice`; names with other characters get a short hash to stay unique."""
    safe = re.sub(r"[^a-z0-9_-]", "-", name.lower()).strip("-") or "user"
    if safe != name or len(prefix + safe) > _MAX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        safe = f"{safe[: _MAX - len(prefix) - 7]}-{digest}"
    return prefix + safe
