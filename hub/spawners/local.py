"""The local spawner: one JupyterLab process per user on this machine.

Run as root, every user gets an OS account of their own (`sdl-<name>`), so the OS
enforces privacy of homes and the read-only archive. Run as anyone else, all servers
share that one account: a fallback for a single person, logged loudly.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any, cast

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from tornado import web
from traitlets import Bool, Integer, Unicode, default

from hub.accounts import AccountError, ensure_user_account, home_folder, os_username
from hub.blocking import in_account_thread, in_spawn_thread
from hub.ports import LISTEN_FD_ENV, bind_server_socket, port_pool
from hub.processes import stop_processes
from hub.profiles import format_size
from hub.spawners.gpu_claims import GpuClaims
from hub.spawners.home_fs import (
    DEFAULT_RESERVE,
    HomeFilesystemError,
    HomeSpaceError,
    can_mount_images,
    ensure_home_filesystem,
)
from hub.spawners.kernel_sockets import KernelSockets, prepare_kernel_sockets
from hub.spawners.limits import ResourceLimiter, server_cgroup_name
from hub.spawners.lost_servers import server_processes
from hub.spawners.odc_login import OdcLogin
from hub.spawners.options import ProfileAwareMixin, profile_form
from hub.spawners.timing import format_timings, timed


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@cache
def _limiter() -> ResourceLimiter:
    return ResourceLimiter.detect()


class SdlLocalSpawner(OdcLogin, GpuClaims, ProfileAwareMixin, LocalProcessSpawner):
    """A LocalProcessSpawner that honours profiles, homes under the data dir and ODC."""

    data_dir = Unicode(
        config=True,
        help="""The platform's data dir. Homes live in <data_dir>/homes/<user>.""",
    )
    archive_dir = Unicode(
        config=True,
        help="""The satellite archive, shown read-only in every workspace at ~/shared.

        Owned by the admin side (root); workspace users can read it, never write it.""",
    )
    run_as_os_users = Bool(
        config=True,
        help="""Give each user an OS account of their own (needs root).

        Off: every server runs as the hub's own user (a single-person fallback).""",
    )
    os_user_prefix = Unicode(
        "sdl-", config=True, help="Prefix of the OS accounts made for platform users."
    )
    home_filesystem = Unicode(
        "auto",
        config=True,
        help="""`auto`: a home with a `home_storage` limit gets a file system of its own of
        that size (an ext4 image in <data_dir>/home-images, loop-mounted on the home),
        where the hub runs as root and can loop-mount. `folder`: the limit is checked at
        spawn only (settings quotas.home_filesystem).""",
    )
    platform_reserve = Integer(
        DEFAULT_RESERVE,
        config=True,
        help="""Bytes kept free on the data dir's file system for PostgreSQL and the hub:
        a home's file system is not made or grown if that would leave less (the spawn is
        refused, saying so). Settings quotas.platform_reserve.""",
    )

    @default("run_as_os_users")
    def _default_run_as_os_users(self) -> bool:
        return os.geteuid() == 0

    @default("options_form")
    def _default_options_form(self) -> Callable[[Any], Awaitable[str]]:
        return profile_form

    spawn_log: list[str]
    home_limit: int | None = None  # bytes, set by the quota check of this spawn

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spawn_log = []

    def note(self, message: str) -> None:
        """A line for the spawn page and the hub log: what this server really gets."""
        self.log.info("[%s] %s", self.user.name, message)
        self.spawn_log.append(message)

    # -- who and where ---------------------------------------------------------------
    @property
    def os_user(self) -> str:
        return os_username(self.user.name, self.os_user_prefix)

    @property
    def home(self) -> Path:
        return Path(self.data_dir) / "homes" / home_folder(self.user.name)

    def _prepare_home(self) -> None:
        home = self.home
        home.parent.mkdir(parents=True, exist_ok=True)
        home.parent.chmod(0o711)  # users may pass through, not list who else has a home
        home.mkdir(exist_ok=True)
        if self.run_as_os_users:
            account = self._account()
            os.chown(home, account.pw_uid, account.pw_gid)
        home.chmod(0o700)

    async def _limit_home(self) -> None:
        """The quota's home limit as a file system of its own, or the spawn log says
        it is checked at spawn only (and why); refused if the disk cannot give it."""
        limit, self.home_limit = self.home_limit, None  # this spawn's, never a stale one
        if not limit:
            self.note(
                "home: no size limit (no quota home_storage applies to this user), so it is a "
                "folder on the platform's disk and can fill that disk for every user"
            )
            return
        why_not = "quotas.home_filesystem is `folder`"
        if self.home_filesystem == "auto":
            why_not = "" if self.run_as_os_users else "servers do not run as their own users"
            why_not = why_not or await in_spawn_thread(can_mount_images)
        if why_not:
            self.note(
                "home limit: checked at spawn only, not while the server runs, so the home "
                f"can fill the platform's disk ({why_not})"
            )
            return
        account = self._account()
        try:
            done = await in_spawn_thread(
                ensure_home_filesystem,
                Path(self.data_dir),
                self.home,
                int(limit),
                account.pw_uid,
                account.pw_gid,
                reserve=self.platform_reserve,
                user=self.user.name,
            )
        except HomeSpaceError as exc:
            self.log.warning("[%s] spawn refused: %s", self.user.name, exc)
            refusal = web.HTTPError(507, str(exc))
            cast(Any, refusal).jupyterhub_message = str(exc)  # shown as it is, no "HTTP 507"
            raise refusal from None
        except HomeFilesystemError as exc:
            self.log.error("[%s] home file system: %s", self.user.name, exc)
            self.note(f"home limit: checked at spawn only ({exc})")
            return
        self.note(done.message)

    def _account(self) -> pwd.struct_passwd:
        """This user's own OS account, or a refusal that says why (never another's)."""
        try:
            return ensure_user_account(self.os_user, self.user.name, self.home)
        except AccountError as exc:
            raise web.HTTPError(409, str(exc)) from None

    # -- LocalProcessSpawner hooks -------------------------------------------------------
    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        attach = self.limiter.attach_self
        group = self.cgroup_name
        home = str(self.home)
        switch_user = set_user_setuid(self.os_user) if self.run_as_os_users else None

        def preexec() -> None:
            attach(group)  # still root here: join the server's cgroup before dropping rights
            if switch_user is not None:
                switch_user()
            os.chdir(home)

        return preexec

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env["HOME"] = str(self.home)
        env["SHELL"] = "/bin/bash"
        env["USER"] = self.os_user if self.run_as_os_users else pwd.getpwuid(os.getuid()).pw_name
        return env

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        env.update(self._odc_env)
        env.update(self._gpu_env)
        env.update(self._listen_env)
        env.update(self._kernel_env)
        return env

    def get_args(self) -> list[str]:
        return [*super().get_args(), *self._kernel_args]

    def _kernel_sockets(self) -> KernelSockets:
        if self.run_as_os_users:
            account = self._account()
            uid, gid = account.pw_uid, account.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        return prepare_kernel_sockets(Path(self.data_dir), uid, gid)

    # the GPUs a running server holds survive a hub restart with the rest of its state
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if held := self.gpu_pool.held_by(self.gpu_owner):
            state["gpus"] = held
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        if state.get("gpus"):
            self.gpu_pool.reclaim(self.gpu_owner, state["gpus"])

    def clear_state(self) -> None:
        super().clear_state()
        self.release_gpus()  # also where poll() finds the server dead

    async def start(self) -> tuple[str, int]:
        self.spawn_log.clear()
        if not self.run_as_os_users:
            self.note(
                "Single-user fallback: the platform does not run as root, so this server "
                "runs as the platform's own OS user; homes and the archive are protected by "
                "convention only."
            )
        with timed(self.hook_seconds, "home"):
            if self.run_as_os_users and not _account_exists(self.os_user):
                await in_account_thread(self._account)  # useradd: not on the event loop
            # a few system calls: inline, since a thread may queue behind other spawns'
            self._prepare_home()
            await self._limit_home()
        with timed(self.hook_seconds, "limits"):
            self.apply_limits()
        kernels = self._kernel_sockets()
        self._kernel_env, self._kernel_args = kernels.env, kernels.args
        self.note(kernels.message)
        self._odc_env = self._odc_environment()
        self._gpu_env = self.claim_gpus()
        listening = self._bind_listening_socket()
        self.note(f"Starting JupyterLab ({self.profile_summary()}).")
        # the database login is made while JupyterLab starts (its URL is known already)
        # and awaited before the hub may call the server ready
        login = asyncio.ensure_future(self._ensure_odc_login())
        try:
            started = await super().start()
        except BaseException:
            self.release_gpus()
            raise
        finally:
            listening.close()  # the server holds its own copy now (or failed to start)
            self._listen_env = {}
            await login
        self.log.info("[%s] spawn hooks took %s", self.user.name, format_timings(self.hook_seconds))
        return started

    _listen_env: dict[str, str] = {}
    _kernel_env: dict[str, str] = {}
    _kernel_args: list[str] = []
    _gpu_env: dict[str, str] = {}

    def _bind_listening_socket(self) -> socket.socket:
        """Bind the server's port here, as root, where no user may bind, and pass the
        socket down (hub.spawners.ports says why); the server inherits it."""
        pool = port_pool(as_root=os.geteuid() == 0)
        if not pool.protected:
            self.note(f"Server ports: {pool.describe()}.")
        listening = bind_server_socket(pool, self.ip or "127.0.0.1")
        self.port = listening.getsockname()[1]
        self._listen_env = {LISTEN_FD_ENV: str(listening.fileno())}
        spawner = cast(Any, self)  # LocalProcessSpawner's traits carry no types
        spawner.popen_kwargs = {**spawner.popen_kwargs, "pass_fds": (listening.fileno(),)}
        return listening

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)
        self.release_gpus()
        await asyncio.to_thread(self.limiter.remove, self.cgroup_name)

    async def poll(self) -> int | None:
        status = await super().poll()
        if status is None or not self._forgotten():
            return status
        # a hub killed between starting this server and storing its pid left it running
        # (hub.spawners.lost_servers): stopped, as the hub now believes it is
        procs = await asyncio.to_thread(
            server_processes, self.archive_dir, self.user.name, self.name
        )
        if procs and self._forgotten():  # not a server this hub started meanwhile
            self.log.warning(
                "[%s] stopping the server a dead hub lost (pids %s)",
                self.user.name,
                ", ".join(str(proc.pid) for proc in procs),
            )
            await asyncio.to_thread(stop_processes, procs)
        return cast("int | None", status)

    def _forgotten(self) -> bool:
        """The hub has a record of this server but no process for it, and starts none."""
        spawner = cast(Any, self)
        return bool(
            self.archive_dir
            and spawner.server is not None
            and spawner.proc is None
            and not spawner.pid
            and not spawner._spawn_pending
        )

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        for index, line in enumerate(list(self.spawn_log)):
            yield {"progress": min(90, 10 + 10 * index), "message": line}

    # -- resources ------------------------------------------------------------------
    @property
    def limiter(self) -> ResourceLimiter:
        return _limiter()

    @property
    def cgroup_name(self) -> str:
        return server_cgroup_name(self.os_user, self.data_dir)

    def apply_limits(self) -> None:
        report = self.limiter.prepare(
            self.cgroup_name,
            cpu_limit=float(self.cpu_limit or 0),
            mem_limit=int(self.mem_limit or 0),
            cpu_guarantee=float(self.cpu_guarantee or 0),
            mem_guarantee=int(self.mem_guarantee or 0),
        )
        for line in report.lines():
            self.note(line)

    def profile_summary(self) -> str:
        profile = self.profile
        if profile is None:
            return f"{self.cpu_limit or '?'} CPU, {format_size(self.mem_limit or 0)} RAM"
        return f"profile {profile.slug}: {profile.summary()}"
