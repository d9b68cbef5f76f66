"""Steps add services and scopes on top of earlier steps without changing their objects."""

from __future__ import annotations

from traitlets.config import Config

from hub.config.merge import earlier, with_role_scopes


def test_earlier_is_a_copy_and_missing_gives_the_empty_value() -> None:
    c = Config()
    c.JupyterHub.services = [{"name": "a"}]
    copied = earlier(c.JupyterHub, "services", [])
    copied[0]["name"] = "changed"
    assert c.JupyterHub.services == [{"name": "a"}]
    assert earlier(c.JupyterHub, "load_roles", []) == []


def test_builtin_roles_keep_their_own_scopes_when_extended() -> None:
    roles = with_role_scopes([], "server", "access:services!service=x")
    assert roles == [
        {
            "name": "server",
            "scopes": ["users:activity!user", "access:servers!server", "access:services!service=x"],
        }
    ]


def test_an_existing_role_is_extended_once_and_not_mutated() -> None:
    original = [{"name": "user", "scopes": ["self", "y"]}, {"name": "other", "scopes": []}]
    roles = with_role_scopes(original, "user", "y", "z")
    assert roles[0]["scopes"] == ["self", "y", "z"]
    assert original[0]["scopes"] == ["self", "y"]
    assert roles[1] is original[1]
