"""Kernel sockets: a fresh private folder per start, or TCP (said) where no path fits."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.spawners.kernel_sockets import MAX_SOCKET_PATH, prepare_kernel_sockets, sockets_dir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Short, as data dirs are (pytest's tmp_path is too deep for socket paths)."""
    path = Path(tempfile.mkdtemp(prefix="sdl-k-"))
    yield path
    shutil.rmtree(path)


def test_each_start_gets_a_fresh_private_folder(data_dir: Path) -> None:
    tmp_path = data_dir
    first = prepare_kernel_sockets(tmp_path, os.getuid(), os.getgid())
    folder = Path(first.env["JUPYTER_RUNTIME_DIR"])
    assert folder == sockets_dir(tmp_path, os.getuid())
    assert first.args == ["--KernelManager.transport=ipc"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o711
    (folder / "kernel-old.json").write_text("{}")  # an earlier server's connection file
    prepare_kernel_sockets(tmp_path, os.getuid(), os.getgid())
    assert list(folder.iterdir()) == []


def test_a_data_dir_too_deep_for_socket_paths_keeps_tcp_and_says_so(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * (MAX_SOCKET_PATH - len(str(tmp_path))))
    done = prepare_kernel_sockets(deep, os.getuid(), os.getgid())
    assert (done.env, done.args) == ({}, [])
    assert "TCP" in done.message and "too long" in done.message
    assert not deep.exists()  # nothing made for it
