"""Resource limits on one machine: real cgroups, real processes, no mocks.

Tests that need a writable cgroup hierarchy skip (with the reason) where there is none
or where they do not run as root; the pure parts run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.spawners.limit_plan import LimitReport, check_name, parse_mountinfo, plan_settings
from hub.spawners.limits import CgroupLimiter, CgroupV2Limiter, NoopLimiter, ResourceLimiter

MI = 2**20
PROFILE = {"cpu_limit": 0.2, "mem_limit": 64 * MI, "cpu_guarantee": 0.1, "mem_guarantee": 0}
HYBRID = """\
30 23 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
38 30 0:34 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
"""
UNIFIED = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def _here_kind() -> str:
    """What detect() should pick on this machine, worked out independently."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return "none"
    v1, v2 = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    if v2 and "memory" in Path(v2, "cgroup.controllers").read_text().split():
        return "cgroup2"
    return "cgroup1" if "memory" in v1 else "none"


def _python(code: str, limiter: ResourceLimiter, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        preexec_fn=lambda: limiter.attach_self(name),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def parent() -> Iterator[str]:
    """A parent group of our own, removed afterwards on every hierarchy."""
    name = f"sdl-test-{os.getpid()}"
    yield name
    for base in Path("/sys/fs/cgroup").iterdir():
        for group in sorted(base.glob(f"{name}/*"), reverse=True):
            if group.is_dir():
                group.rmdir()
        if (base / name).is_dir():
            (base / name).rmdir()


@pytest.fixture
def limiter(parent: str) -> CgroupLimiter:
    found = ResourceLimiter.detect(parent)
    if not isinstance(found, CgroupLimiter):
        pytest.skip(f"no writable cgroup hierarchy here: {found.reason}")
    return found


# --- pure parts -------------------------------------------------------------------------


def test_names_are_single_harmless_components() -> None:
    for good in ("jupyter-alice", "alice.smith", "bob@lab", "u1-server2"):
        assert check_name(good) == good
    for bad in ("", "a/b", "..", "../x", "a..b", ".hidden", "-x", "a\nb", "x" * 256):
        with pytest.raises(ValueError, match="not a valid cgroup name"):
            check_name(bad)


def test_plans_write_limits_in_an_order_the_kernel_accepts() -> None:
    v1 = [(s.file, s.value) for s in plan_settings(1, 0.5, 8 * 2**30, 0.25, 4096)]
    assert v1 == [
        ("memory.memsw.limit_in_bytes", "-1"),  # opened first, so lowering never fails
        ("memory.limit_in_bytes", str(8 * 2**30)),
        ("memory.memsw.limit_in_bytes", str(8 * 2**30)),
        ("cpu.cfs_period_us", "100000"),
        ("cpu.cfs_quota_us", "50000"),
        ("cpu.shares", "256"),
        ("pids.max", "4096"),
    ]
    v2 = {s.file: s.value for s in plan_settings(2, 2, MI, 0.5, 100)}
    assert v2 == {
        "memory.max": str(MI),
        "memory.swap.max": "0",
        "cpu.max": "200000 100000",
        "cpu.weight": "50",
        "pids.max": "100",
    }


def test_mountinfo_tells_hybrid_from_unified() -> None:
    v1, v2 = parse_mountinfo(HYBRID)
    assert v2 == "/sys/fs/cgroup/unified"
    assert v1 == {
        "cpu": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        "memory": "/sys/fs/cgroup/memory",
        "pids": "/sys/fs/cgroup/pids",
    }
    assert parse_mountinfo(UNIFIED) == ({}, "/sys/fs/cgroup")


def test_report_lines_put_enforced_first() -> None:
    report = LimitReport(enforced=["memory limit 8Gi: enforced (x)"], not_enforced=["b: not"])
    assert report.lines() == ["memory limit 8Gi: enforced (x)", "b: not"]
    assert report.enforces("memory limit") and not report.enforces("CPU limit")


def test_noop_limiter_enforces_nothing_and_says_why() -> None:
    noop = NoopLimiter("sdl", reason="the hub does not run as root")
    report = noop.prepare("alice", **PROFILE)
    assert report.enforced == []
    lines = report.lines()
    for what in ("memory limit 64Mi", "swap limit", "CPU limit 0.2", "process limit 4096"):
        assert f"{what}: not enforced (the hub does not run as root)" in lines
    assert not any("GPU" in line for line in lines)  # the GPU pool's to say, not a cgroup's
    assert any(line.startswith("CPU guarantee 0.1: not reserved") for line in lines)
    assert all(": not " in line or "ineffective" in line for line in lines)
    noop.attach_self("alice")
    noop.remove("alice")
    assert noop.usage("alice") == {}
    with pytest.raises(ValueError):
        noop.prepare("../etc", **PROFILE)


def test_unwritable_hierarchy_gives_a_reason() -> None:
    """/proc stands in for a read-only cgroupfs: mkdir fails there for root too."""
    broken = CgroupLimiter("sdl", mounts={"memory": "/proc"})
    assert "cannot create the parent cgroup /proc/sdl" in broken.setup_parent()


def test_detect_picks_the_right_kind_here(parent: str) -> None:
    found = ResourceLimiter.detect(parent)
    print(f"detect() here: {found.kind} {getattr(found, 'mounts', found.reason)}")
    assert found.kind == _here_kind()


def test_detect_as_non_root_is_a_noop(parent: str) -> None:
    if os.geteuid() != 0:
        found = ResourceLimiter.detect(parent)
        assert found.kind == "none" and "not run as root" in found.reason
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become nobody, then ask
        try:
            os.setgid(65534)
            os.setuid(65534)
            found = ResourceLimiter.detect(parent)
            os.write(write, f"{found.kind}|{found.reason}".encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 4096).decode()
    os.waitpid(pid, 0)
    assert answer.startswith("none|") and "not run as root" in answer


# --- real cgroups, real processes --------------------------------------------------------


def test_memory_limit_stops_a_greedy_process(limiter: CgroupLimiter) -> None:
    report = limiter.prepare("greedy", **PROFILE)
    print("\n".join(report.lines()))
    assert report.enforces("memory limit 64Mi")
    swap = Path("/proc/meminfo").read_text().split("SwapTotal:")[1].split()[0]
    if not report.enforces("swap limit") and swap != "0":
        pytest.skip("swap is on and not limited here, so a greedy process swaps instead of dying")
    small = _python("b = b'x' * (16 << 20); print('ok')", limiter, "greedy")
    assert small.communicate(timeout=20)[0] == b"ok\n"  # under the limit: runs normally
    greedy = _python("b = b'x' * (256 << 20); print('survived')", limiter, "greedy")
    out, _ = greedy.communicate(timeout=20)
    usage = limiter.usage("greedy")
    print(f"greedy: returncode {greedy.returncode}, usage {usage}")
    assert greedy.returncode != 0 and b"survived" not in out
    assert usage.get("memory_peak_bytes", 0) <= 64 * MI
    assert usage.get("oom_kills", 1) >= 1
    limiter.remove("greedy")


def test_cpu_limit_throttles_a_busy_process(limiter: CgroupLimiter) -> None:
    assert limiter.prepare("busy", **PROFILE).enforces("CPU limit 0.2")
    start = time.monotonic()
    busy = _python(
        "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass", limiter, "busy"
    )
    assert busy.wait(timeout=20) == 0
    wall, cpu = time.monotonic() - start, limiter.usage("busy")["cpu_seconds"]
    print(f"busy: {wall:.2f} s wall, {cpu:.3f} CPU-seconds under a 0.2 CPU limit")
    assert 0.05 < cpu < 0.6  # unthrottled it would be >= 1.5
    limiter.remove("busy")


def test_pids_limit_stops_a_thread_storm(parent: str, limiter: CgroupLimiter) -> None:
    small = ResourceLimiter.detect(parent, pids_max=16)
    assert small.prepare("storm", **PROFILE).enforces("process limit 16")
    code = (
        "import threading, time\n"
        "for _ in range(64): threading.Thread(target=time.sleep, args=(5,), daemon=True).start()"
    )
    storm = _python(code, small, "storm")
    _, err = storm.communicate(timeout=20)
    assert storm.returncode != 0 and b"can't start new thread" in err
    small.remove("storm")


def test_remove_kills_leftovers_and_deletes_the_group(limiter: CgroupLimiter) -> None:
    limiter.prepare("leftover", **PROFILE)
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 60 & sleep 60"], preexec_fn=lambda: limiter.attach_self("leftover")
    )
    deadline = time.monotonic() + 5
    while len(limiter.pids("leftover")) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(limiter.pids("leftover")) == 3  # the shell and both sleeps, grandchild included
    dirs = set(limiter.group_dirs("leftover").values())
    limiter.remove("leftover")
    assert shell.wait(timeout=5) == -9
    assert not any(d.exists() for d in dirs)
    limiter.remove("leftover")  # already gone: quiet
    limiter.remove("never-prepared")


def test_attach_needs_a_child_and_a_prepared_group(limiter: CgroupLimiter) -> None:
    limiter.prepare("guarded", **PROFILE)
    with pytest.raises(RuntimeError, match="preexec_fn"):
        limiter.attach_self("guarded")  # in the hub itself: refused
    with pytest.raises(subprocess.SubprocessError):  # never start a server without its group
        subprocess.Popen(["true"], preexec_fn=lambda: limiter.attach_self("unprepared"))
    limiter.remove("guarded")


def test_cgroup2_paths_on_a_hybrid_machine(parent: str) -> None:
    """Hybrid machines mount a controller-less cgroup2: v2 code runs, and says what it lacks."""
    unified = Path("/sys/fs/cgroup/unified")
    if os.geteuid() != 0 or not (unified / "cgroup.procs").exists():
        pytest.skip("needs root and a hybrid cgroup layout (cgroup2 at /sys/fs/cgroup/unified)")
    if "memory" in (unified / "cgroup.controllers").read_text():
        pytest.skip("the unified hierarchy has controllers here; detect() covers it")
    v2 = CgroupV2Limiter(parent, root=str(unified))
    assert v2.setup_parent() == ""
    report = v2.prepare("hybrid", **PROFILE)
    assert report.enforced == []
    assert any(
        s.startswith("memory limit 64Mi: not enforced (the memory controller")
        for s in report.not_enforced
    )
    proc = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: v2.attach_self("hybrid"))
    assert v2.pids("hybrid") == {proc.pid}  # attached before exec: no wait needed
    assert "cpu_seconds" in v2.usage("hybrid")  # cpu.stat exists without the cpu controller
    v2.remove("hybrid")  # via cgroup.kill
    assert proc.wait(timeout=5) == -9 and not (unified / parent / "hybrid").exists()


def test_the_parent_weighs_the_sum_of_its_servers_guarantees(limiter: CgroupLimiter) -> None:
    file, default, _ = limiter.weight_file
    parent = Path(limiter.mounts["cpu"]) / limiter.parent
    sizes = {"cpu_limit": 1.0, "mem_limit": 2**30, "mem_guarantee": 0}
    limiter.prepare("one", cpu_guarantee=2, **sizes)
    limiter.prepare("two", cpu_guarantee=3, **sizes)
    per_cpu = default  # v1: 1024 shares per CPU; v2: 100 weight per CPU
    assert int((parent / file).read_text()) == 5 * per_cpu
    limiter.remove("two")
    assert int((parent / file).read_text()) == 2 * per_cpu
    limiter.remove("one")
    assert int((parent / file).read_text()) == default  # never below one process's weight
