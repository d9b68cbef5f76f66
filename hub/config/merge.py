"""Adding to what earlier apply steps set, without mutating it.

Several steps add services, roles and scopes. Each builds new lists and dicts from the
earlier values, so a step never changes another step's objects (TLJH: steps only set).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from traitlets.config import Config

#: JupyterHub's own scopes for its built-in roles, used when no step redefined them.
BUILTIN_ROLE_SCOPES = {
    "user": ["self"],
    "server": ["users:activity!user", "access:servers!server"],
}


def earlier(section: Config, name: str, empty: Any) -> Any:
    """A copy of what an earlier step set on `section.<name>`, or `empty`."""
    return deepcopy(section[name]) if name in section else empty


def with_role_scopes(roles: list[dict[str, Any]], name: str, *scopes: str) -> list[dict[str, Any]]:
    """`roles` where role `name` also has `scopes` (a built-in role keeps its own scopes)."""
    found = next((role for role in roles if role.get("name") == name), None)
    base = found or {"name": name, "scopes": list(BUILTIN_ROLE_SCOPES.get(name, []))}
    current = list(base.get("scopes", []))
    merged = {**base, "scopes": current + [s for s in scopes if s not in current]}
    if found is None:
        return [*roles, merged]
    return [merged if role is found else role for role in roles]
