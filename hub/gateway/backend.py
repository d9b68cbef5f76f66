"""The embedded gateway's backend: local processes, one OS account per user, user limits
and cluster usage counted in the user's quota budget.

Clusters run as the same OS account as the user's workspace (`sdl-<name>`), in a
working dir that account owns, so the OS keeps users' clusters and files apart exactly
as it keeps their workspaces apart; and in the cgroup of the user's server, so its CPU,
memory and process limits cover the workspace and its clusters together.
"""

from __future__ import annotations

import asyncio
import functools
import grp
import os
import pwd
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import LocalBackend
from traitlets import Bool, Unicode, default
from traitlets import Callable as CallableTrait

from hub.accounts import AccountError, check_user_account, home_folder, os_username
from hub.gateway.dashboard import DashboardRoutes
from hub.gateway.usage import DBClusterUses, DBUsageMixin
from hub.spawners.limits import ResourceLimiter, server_cgroup_name


@functools.cache
def _limiter() -> ResourceLimiter:
    return ResourceLimiter.detect()


class SdlLocalBackend(DBClusterUses, DBUsageMixin, DashboardRoutes, LocalBackend):
    """LocalBackend that maps users to their workspace accounts, enforces user totals and
    records each cluster's cores over time in the quota database (`usage_settings`)."""

    run_as_os_users = Bool(
        config=True,
        help="""Run each user's schedulers and workers as their OS account (needs root).

        Off: everything runs as the gateway's own user (the single-person fallback,
        matching the spawner's).""",
    )
    os_user_prefix = Unicode(
        "sdl-", config=True, help="Prefix of the OS accounts made for platform users."
    )

    user_environment = CallableTrait(
        None,
        allow_none=True,
        config=True,
        help="""Function (username) -> dict of environment variables for the user's clusters.

        Gives schedulers and workers what the user's workspace has for data access (their
        read-only Open Data Cube login); called in a thread at each cluster start.""",
    )

    data_dir = Unicode(
        "",
        config=True,
        help="""The platform's data dir, which names its servers' cgroups.

        Set: each user's schedulers and workers join the cgroup of that user's server, so
        the workspace's CPU, memory and process limits hold for the workspace and its
        clusters together. Empty: clusters run in the gateway's own group.""",
    )

    _user_env: dict[str, dict[str, str]]

    @default("run_as_os_users")
    def _default_run_as_os_users(self) -> bool:
        return os.geteuid() == 0

    def os_account(self, username: str) -> pwd.struct_passwd:
        """The OS account of a platform user; it exists once their workspace has started."""
        if not self.run_as_os_users:
            return pwd.getpwuid(os.getuid())
        name = os_username(username, self.os_user_prefix)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise PublicException(
                f"User {username} has no workspace account ({name}) yet: start your "
                "workspace once, then create clusters from it."
            ) from None
        # never another account's rights (a platform account, root, another platform's)
        home = Path(self.data_dir) / "homes" / home_folder(username) if self.data_dir else None
        try:
            check_user_account(entry, username, home)
        except AccountError as exc:
            raise PublicException(str(exc)) from None
        return entry

    def server_cgroup(self, username: str) -> list[str]:
        """The `cgroup.procs` files of the user's server group, for their clusters."""
        if not (self.data_dir and self.run_as_os_users):
            return []
        name = server_cgroup_name(self.os_account(username).pw_name, self.data_dir)
        try:
            return _limiter().procs_files(name)
        except FileNotFoundError:
            raise PublicException(
                f"User {username} has no running workspace to hold a cluster's processes: "
                "start your workspace, then create clusters from it."
            ) from None

    async def start_cluster(self, user: Any, cluster_options: dict[str, Any]) -> str:
        self.os_account(user.name)  # refuse early, with a reason, not at process start
        self.server_cgroup(user.name)
        if self.user_environment is not None:
            try:
                env = await asyncio.to_thread(self.user_environment, user.name)
            except Exception:  # the cluster still starts, without data access
                self.log.exception("no cluster environment for %s", user.name)
                env = {}
            self._user_env = {**getattr(self, "_user_env", {}), user.name: dict(env)}
        return await super().start_cluster(user, cluster_options)

    async def _check_cluster_proxied(self, cluster: Any) -> None:
        """Give the proxy only the scheduler (SNI) route; dashboards go through the
        gateway's own authenticated route (hub.gateway.dashboard)."""
        if not cluster.added_to_proxies:
            await self.proxy.add_route(
                kind="SNI", sni=cluster.name, target=cluster.scheduler_address
            )
            cluster.added_to_proxies = True

    def setup_working_directory(self, cluster: Any) -> str:
        """A private working dir owned by the user's account (replaces upstream's, which
        chowns `/` when run as root: it extends its path list with a string)."""
        account = self.os_account(cluster.username)
        base = Path(self.clusters_directory or "/tmp/sdl-dask-clusters")
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o711)  # users pass through to their own dir, cannot list others
        workdir = base / cluster.name
        certs = Path(self.get_certs_directory(str(workdir)))
        logs = Path(self.get_logs_directory(str(workdir)))
        created: list[Path] = []
        for folder in (workdir, certs, logs):
            folder.mkdir(mode=0o700, exist_ok=False)
            created.append(folder)
        cert_path, key_path = self._get_tls_paths(str(workdir))
        for path, data in ((cert_path, cluster.tls_cert), (key_path, cluster.tls_key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            created.append(Path(path))
        if self.run_as_os_users:
            for path in created:
                os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
        self.log.debug("Working directory %s for cluster %s created", workdir, cluster.name)
        return str(workdir)

    def set_file_permissions(self, paths: list[str], username: str) -> None:
        """Unused: setup_working_directory chowns what it creates (never a parent)."""

    def make_preexec_fn(self, cluster: Any) -> Callable[[], None]:
        workdir = cluster.state["workdir"]
        if not self.run_as_os_users:
            return lambda: os.chdir(workdir)
        account = self.os_account(cluster.username)
        groups = [g.gr_gid for g in grp.getgrall() if account.pw_name in g.gr_mem]
        procs = self.server_cgroup(cluster.username)

        def preexec() -> None:  # runs in the child, before exec
            for path in procs:  # still root: join the server's limits, then drop rights
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, b"0")  # "0": this process (nothing formatted after fork)
                finally:
                    os.close(fd)
            os.setgid(account.pw_gid)
            os.setgroups([account.pw_gid, *groups])
            os.setuid(account.pw_uid)
            os.chdir(workdir)

        return preexec

    def get_env(self, cluster: Any) -> dict[str, str]:
        env = {
            **getattr(self, "_user_env", {}).get(cluster.username, {}),
            **super().get_env(cluster),
        }
        account = self.os_account(cluster.username)
        env["USER"] = account.pw_name
        env["HOME"] = cluster.state.get("workdir", "/tmp")
        return env
