"""Each user's own read-only login to the ODC index, for the local spawner.

Its URL is derived (the password from a platform secret), so it is known before the
login exists: the spawner gives it to the server's environment, makes the login while
JupyterLab starts, and waits for it before the hub may call the server ready. A
database that cannot be reached is waited for a while (`sdl up` restarts a dead
PostgreSQL within seconds): a spawn pending while it restarts still gets its login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Integer, Unicode
from traitlets.config import LoggingConfigurable

from hub.blocking import in_spawn_thread
from hub.db.wait import while_unreachable
from hub.spawners.odc import DatabasePlace, ensure_workspace_login, workspace_login_url
from hub.spawners.timing import timed


class OdcLogin(LoggingConfigurable):
    """What a spawner needs to give its user the index (its user, data dir, notes)."""

    user: Any
    data_dir: Any
    hook_seconds: dict[str, float]

    odc_database = Unicode("datacube", config=True, help="Database of the ODC index.")
    odc_admin_url = Unicode(
        "",
        config=True,
        help="""Admin URL of an external PostgreSQL; empty: the embedded one in data_dir.

        Only the hub uses it, to create each user's read-only login; never given to users.""",
    )
    odc_connection_limit = Integer(
        8, config=True, help="Connections each user's read-only database login may hold."
    )
    db_login_key = Unicode(
        config=True, help="Secret from which each user's database password is derived."
    )

    def note(self, message: str) -> None:
        raise NotImplementedError  # the spawner's spawn log

    _odc_env: dict[str, str] = {}

    @property
    def odc_place(self) -> DatabasePlace:
        return DatabasePlace(Path(self.data_dir), self.odc_admin_url, self.odc_database)

    def _odc_environment(self) -> dict[str, str]:
        try:  # reads where the embedded server listens, if that is the one
            url = workspace_login_url(self.odc_place, self.user.name, self.db_login_key.encode())
        except Exception as exc:  # the workspace still starts, without the index
            self.log.exception("no database URL for %s", self.user.name)
            self.note(f"Open Data Cube is not configured: {exc}")
            return {}
        return {"ODC_DEFAULT_DB_URL": url, "ODC_DEFAULT_INDEX_DRIVER": "postgres"}

    async def _ensure_odc_login(self) -> None:
        if not self._odc_env:
            return  # no URL was given to the workspace: nothing to log in with
        try:
            with timed(self.hook_seconds, "odc_login"):
                await while_unreachable(
                    lambda: in_spawn_thread(
                        ensure_workspace_login,
                        self.odc_place,
                        self.user.name,
                        self.db_login_key.encode(),
                        self.odc_connection_limit,
                    ),
                    f"[{self.user.name}] database login",
                    self.log,
                )
        except Exception as exc:  # the workspace still starts, without the index
            self.log.exception("no database login for %s", self.user.name)
            self.note(f"Open Data Cube is not configured: {exc}")
            return
        self.note(
            f"Open Data Cube: read-only database login, at most "
            f"{self.odc_connection_limit} connections."
        )
