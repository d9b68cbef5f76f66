"""`sdl up`'s opt-in schedule of `sdl data sync` (`sync.schedule`, a cron line in UTC).

The same line drives the Kubernetes CronJob `sdl-data-sync` (hub.kube.sync_job); here
`sdl up` starts `python -m hub.data.sync_schedule` beside its other parts, and that
process runs `sdl data sync` (the settings' `sync:` section) as a subprocess at each
time the line names. One run at a time, as the CronJob's `concurrencyPolicy: Forbid`:
a time that comes while the previous run still goes is skipped and logged. Every line
of the runs' output goes to the runner's log (`<data dir>/logs/sync.log` under sdl up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO

from croniter import croniter

from hub.settings import settings_from_environment
from hub.supervise import stop_on_signals

Say = Callable[[str], None]

#: What one scheduled run is: `sdl data sync` with the settings' sync section.
SYNC_COMMAND = (sys.executable, "-m", "hub.cli", "data", "sync")
#: How `sdl up` starts the runner (hub.local).
RUNNER_COMMAND = (sys.executable, "-m", "hub.data.sync_schedule")
STOP_GRACE_S = 30.0  # a run being stopped may finish its current file's write


def next_run(schedule: str, now: datetime) -> datetime:
    """The first time after `now` that `schedule` names, in UTC."""
    return croniter(schedule, now.astimezone(UTC)).get_next(datetime).astimezone(UTC)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Runner:
    """Runs `command` at each time of `schedule`, never two at once."""

    def __init__(
        self,
        schedule: str,
        command: Sequence[str] = SYNC_COMMAND,
        say: Say = print,
        clock: Callable[[], datetime] = _utc_now,
        env: Mapping[str, str] | None = None,
        output: IO[bytes] | None = None,
    ) -> None:
        self.schedule = schedule
        self.command = list(command)
        self.env = None if env is None else {**os.environ, **env}
        self.output = output  # the runs' stdout and stderr; None: the runner's own
        self.say = say
        self.clock = clock
        self.due = next_run(schedule, clock())
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.runs = self.skipped = 0

    def tick(self) -> None:
        """Report a run that ended; start one if its time has come (or skip it)."""
        self._reap()
        now = self.clock()
        if now < self.due:
            return
        due, self.due = self.due, next_run(self.schedule, now)
        if self.proc is not None:
            self.skipped += 1
            self.say(f"sync due at {due:%Y-%m-%d %H:%M:%S}Z skipped: the previous run still goes")
            return
        self.runs += 1
        self.started_at = time.monotonic()
        self.say(f"sync run {self.runs} (due {due:%Y-%m-%d %H:%M:%S}Z): {' '.join(self.command)}")
        sys.stdout.flush()  # the run writes into the same log after this line
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=None if self.output is None else subprocess.STDOUT,
            env=self.env,
        )

    def _reap(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            seconds = time.monotonic() - self.started_at
            self.say(
                f"sync run {self.runs} ended with code {self.proc.returncode} in {seconds:.1f}s"
            )
            self.proc = None

    def run(self, stopping: Callable[[], bool], interval_s: float = 0.2) -> None:
        """Tick until `stopping()`; then stop a run still going (SIGTERM, then SIGKILL)."""
        self.say(f"sync schedule {self.schedule!r} (UTC); next run {self.due:%Y-%m-%d %H:%M:%S}Z")
        while not stopping():
            self.tick()
            time.sleep(interval_s)
        if self.proc is not None and self.proc.poll() is None:
            self.say(f"stopping sync run {self.runs}")
            self.proc.terminate()
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reap()


def main() -> None:
    """The runner `sdl up` starts (SDL_CONFIG and SDL_DATA_DIR name the platform; the
    runs inherit both, so they sync the same platform's archive and index)."""
    settings = settings_from_environment()
    schedule = settings.sync.schedule
    if not schedule:
        print("sync.schedule is not set: nothing to run", flush=True)
        return
    stopping = stop_on_signals()

    def say(line: str) -> None:
        print(f"[{_utc_now():%Y-%m-%d %H:%M:%S}Z sync-schedule] {line}", flush=True)

    Runner(schedule, say=say).run(stopping)


if __name__ == "__main__":
    main()
