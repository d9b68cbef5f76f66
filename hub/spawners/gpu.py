"""How many GPUs this machine can give a workspace."""

from __future__ import annotations

import glob


def visible_gpus() -> int:
    """NVIDIA devices present (/dev/nvidia0, /dev/nvidia1, ...)."""
    return len(glob.glob("/dev/nvidia[0-9]*"))
