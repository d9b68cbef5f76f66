"""Workspace bootstrap, run as the user before JupyterLab serves anything.

It links the read-only archive at ~/shared and hands out the notebook templates; where
SDL_WORKSHOPS_URL is set (Kubernetes) it also fetches the user's workshop materials
into ~/workshops/<name>/ (`hub.workshops.pull`). Two ways in, the same work:

* as a Jupyter server extension, loaded by the single-user server while it initialises
  (before it listens): `sdl up` enables it through JUPYTER_CONFIG_PATH
  (hub/jupyter_config), so no extra interpreter starts per spawn;
* `python -m hub.workspace jupyterhub-singleuser [args...]`: does the same, then becomes
  the single-user server (the Kubernetes pods' command).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hub.listen_fd import adopt_listening_socket
from hub.templates_seed import seed_templates


def prepare_home(home: Path, environ: dict[str, str]) -> list[str]:
    """Everything a fresh or returning home needs; returns lines for the server log."""
    lines = []
    archive = environ.get("SDL_ARCHIVE_DIR", "")
    shared = home / "shared"
    if archive and not shared.exists() and not shared.is_symlink():
        shared.symlink_to(archive, target_is_directory=True)
        lines.append(f"linked ~/shared -> {archive} (read-only)")
    templates = environ.get("SDL_TEMPLATES_DIR", "")
    if templates:
        target = home / environ.get("SDL_TEMPLATES_TARGET", "examples")
        report = seed_templates(Path(templates), target)
        lines.append(
            f"templates: {len(report.copied)} new, {len(report.updated)} updated, "
            f"{len(report.kept_user_changes)} kept as you changed them"
        )
    return lines


def pull_workshops(home: Path, environ: dict[str, str]) -> list[str]:
    """Workshop materials from the service, if it is configured; never raises."""
    if not environ.get("SDL_WORKSHOPS_URL"):
        return []
    try:
        # imported here, inside the try: materials must never keep a user out
        from hub.workshops.pull import pull_materials

        return pull_materials(home, environ)
    except Exception as exc:  # never keep a user out of their server over materials
        return [f"workshops: materials not fetched: {exc!r}"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hub.workspace"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Serve on the socket the hub bound, and prepare the home the server runs in (it
    has not started listening yet)."""
    port = adopt_listening_socket(serverapp, dict(os.environ))
    if port is not None:
        serverapp.log.info("[sdl-workspace] serving on port %s, bound by the hub", port)
    home = Path(os.environ.get("HOME", os.getcwd()))
    try:
        for line in prepare_home(home, dict(os.environ)):
            serverapp.log.info("[sdl-workspace] %s", line)
    except OSError as exc:  # never keep a user out of their server over templates
        serverapp.log.warning("[sdl-workspace] could not prepare %s: %s", home, exc)
    for line in pull_workshops(home, dict(os.environ)):
        serverapp.log.info("[sdl-workspace] %s", line)


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: python -m hub.workspace COMMAND [ARGS...]")
    home = Path(os.environ.get("HOME", os.getcwd()))
    try:
        for line in prepare_home(home, dict(os.environ)):
            print(f"[sdl-workspace] {line}", file=sys.stderr)
    except OSError as exc:  # never keep a user out of their server over templates
        print(f"[sdl-workspace] could not prepare {home}: {exc}", file=sys.stderr)
    for line in pull_workshops(home, dict(os.environ)):
        print(f"[sdl-workspace] {line}", file=sys.stderr)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
