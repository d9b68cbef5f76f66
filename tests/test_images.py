"""The image package sets: the user image's lock really pins what its requirements name,
and the GPU image is that same set plus a CUDA PyTorch, used by the GPU profile."""

from __future__ import annotations

import re
from pathlib import Path

from hub.profiles import load_profiles
from hub.settings import Settings

IMAGES = Path(__file__).resolve().parent.parent / "images"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_user_lock_pins_every_requirement_at_the_same_version() -> None:
    wanted = pins(IMAGES / "user" / "requirements.txt")
    locked = pins(IMAGES / "user" / "requirements.lock")
    assert wanted, "no pins found in images/user/requirements.txt"
    mismatched = {
        name: (version, locked.get(name))
        for name, version in wanted.items()
        if locked.get(name) != version
    }
    assert not mismatched, f"re-run uv pip compile (see the lock's header): {mismatched}"
    assert len(locked) > len(wanted)  # transitive dependencies are pinned too


def test_every_image_has_a_dockerfile_and_pinned_requirements() -> None:
    for image in ("hub", "user", "user-gpu", "ingest"):
        assert (IMAGES / image / "Dockerfile").is_file()
        requirements = pins(IMAGES / image / "requirements.txt")
        assert requirements, f"images/{image}/requirements.txt pins nothing"


def test_gpu_lock_is_the_user_lock_plus_a_cuda_pytorch() -> None:
    user = pins(IMAGES / "user" / "requirements.lock")
    gpu = pins(IMAGES / "user-gpu" / "requirements.lock")
    differing = {n: (v, gpu.get(n)) for n, v in user.items() if gpu.get(n) != v}
    assert not differing, f"re-run uv pip compile (see the GPU lock's header): {differing}"
    wanted = pins(IMAGES / "user-gpu" / "requirements.txt")
    assert set(wanted) == {"torch", "torchvision"}
    assert {n: gpu.get(n) for n in wanted} == wanted
    # PyPI's Linux torch wheels pull the CUDA runtime as wheels: CPU builds do not
    assert "nvidia-cuda-runtime" in gpu and "nvidia-cudnn-cu13" in gpu
    assert "+cpu" not in gpu["torch"]
    # torchvision x.(N) is built for torch 2.(N-15): a mismatched pair fails at import
    assert int(gpu["torchvision"].split(".")[1]) == int(gpu["torch"].split(".")[1]) + 15
    requirements = (IMAGES / "user-gpu" / "requirements.txt").read_text()
    assert "-r ../user/requirements.txt" in requirements.splitlines()


def test_gpu_image_builds_on_the_user_image_and_the_gpu_profile_uses_it() -> None:
    user_image = Settings().kubernetes.user_image
    repository, tag = user_image.rsplit(":", 1)
    dockerfile = (IMAGES / "user-gpu" / "Dockerfile").read_text()
    assert f"ARG USER_IMAGE={user_image}\nFROM ${{USER_IMAGE}}" in dockerfile
    assert "images/user-gpu/requirements.lock" in dockerfile
    assert "NVIDIA_VISIBLE_DEVICES=" not in dockerfile  # the device plugin's to set
    profiles = load_profiles(Settings().profiles_dir)
    assert {p.slug: p.image for p in profiles if p.gpus} == {"gpu": f"{repository}-gpu:{tag}"}
    assert all(p.image is None for p in profiles if not p.gpus)
