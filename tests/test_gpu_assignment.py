"""Local GPUs: each server of a GPU profile gets devices of its own, released at stop.

The pool is pure bookkeeping over a device list passed in; the spawner tests give the
real SdlLocalSpawner (on a real JupyterHub User) a device list of made-up GPU ids.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyterhub import orm
from jupyterhub.user import User
from tornado import web
from traitlets.config import Config

from hub.profiles import Profile, load_profiles
from hub.settings import Settings
from hub.spawners.gpu import (
    GpuPool,
    GpusBusy,
    cuda_environment,
    device_file_ids,
    parse_gpu_uuids,
)
from hub.spawners.local import SdlLocalSpawner

PROFILES = {p.slug: p for p in load_profiles(Settings().profiles_dir)}
TWO_GPUS = Profile.model_validate({**PROFILES["gpu"].model_dump(), "slug": "gpu2", "gpus": 2})


# -- the pool ------------------------------------------------------------------------


def test_each_server_gets_its_own_devices_until_none_are_left() -> None:
    pool = GpuPool(["0", "1", "2"])
    assert pool.assign("gina/", 1) == ["0"]
    assert pool.assign("gale/", 2) == ["1", "2"]
    with pytest.raises(GpusBusy, match="this machine has 3 and 3 are in use"):
        pool.assign("gus/", 1)
    assert pool.release("gina/") == ["0"]
    assert pool.assign("gus/", 1) == ["0"]
    assert pool.free() == []


def test_assign_again_keeps_the_same_devices_and_release_is_idempotent() -> None:
    pool = GpuPool(["a", "b"])
    assert pool.assign("gina/", 1) == ["a"]
    assert pool.assign("gina/", 1) == ["a"]
    assert pool.release("gina/") == ["a"]
    assert pool.release("gina/") == []
    assert pool.free() == ["a", "b"]


def test_a_bigger_request_keeps_what_the_server_had() -> None:
    pool = GpuPool(["0", "1", "2"])
    pool.assign("gale/", 1)
    assert pool.assign("gina/", 1) == ["1"]
    assert pool.assign("gina/", 2) == ["1", "2"]
    with pytest.raises(GpusBusy):
        pool.assign("gina/", 3)  # one is gale's
    assert pool.held_by("gina/") == ["1", "2"]  # a refusal takes nothing away


def test_named_servers_of_one_user_hold_gpus_apart() -> None:
    pool = GpuPool(["0", "1"])
    assert pool.assign("gina/", 1) != pool.assign("gina/train", 1)


def test_reclaim_after_a_hub_restart_keeps_only_devices_that_exist_and_are_free() -> None:
    pool = GpuPool(["0", "1"])
    pool.assign("gale/", 1)  # already back: holds "0"
    assert pool.reclaim("gina/", ["0", "1", "7"]) == ["1"]
    assert pool.free() == []
    assert pool.reclaim("gus/", ["1"]) == []
    assert pool.held_by("gus/") == []


def test_no_gpus_and_bad_input() -> None:
    pool = GpuPool([])
    with pytest.raises(GpusBusy, match="this machine has 0"):
        pool.assign("gina/", 1)
    with pytest.raises(ValueError):
        pool.assign("gina/", 0)
    with pytest.raises(ValueError, match="duplicate"):
        GpuPool(["0", "0"])


def test_cuda_environment() -> None:
    assert cuda_environment(["0", "2"]) == {
        "CUDA_VISIBLE_DEVICES": "0,2",
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
    }
    uuid_id = "GPU-5f8a3c2e-1b2d-4c3e-9f00-0123456789ab"
    assert cuda_environment([uuid_id]) == {"CUDA_VISIBLE_DEVICES": uuid_id}
    assert cuda_environment([]) == {"CUDA_VISIBLE_DEVICES": ""}  # CUDA then sees none


def test_machine_gpu_discovery_parsers(tmp_path: Path) -> None:
    for name in ("nvidia0", "nvidia10", "nvidia2", "nvidiactl", "nvidia-uvm", "nvidia-modeset"):
        (tmp_path / name).touch()
    assert device_file_ids(tmp_path) == ["0", "2", "10"]
    out = "GPU-5f8a3c2e-1b2d-4c3e-9f00-0123456789ab\nGPU-77a1-0c\n\nNo devices were found\n"
    assert parse_gpu_uuids(out) == ["GPU-5f8a3c2e-1b2d-4c3e-9f00-0123456789ab", "GPU-77a1-0c"]


# -- the local spawner with made-up devices ----------------------------------------------


@pytest.fixture
def db() -> Iterator[orm.Session]:
    session = orm.new_session_factory("sqlite:///:memory:")()
    yield session
    session.close()


@pytest.fixture
def devices() -> list[str]:
    """Ids no other test uses: the hub process's pools are shared by device list."""
    return [f"GPU-{uuid.uuid4()}", f"GPU-{uuid.uuid4()}"]


def spawner(db: orm.Session, name: str, devices: list[str], profile: str) -> SdlLocalSpawner:
    orm_user = db.query(orm.User).filter_by(name=name).first() or orm.User(name=name)
    db.add(orm_user)
    db.commit()
    config = Config({"SdlLocalSpawner": {"gpu_devices": devices}})
    user = User(orm_user, settings={"spawner_class": SdlLocalSpawner, "config": config})
    made = user.spawners[""]  # as the hub makes it: its orm spawner, the config
    assert isinstance(made, SdlLocalSpawner)
    made.profile = PROFILES.get(profile) or TWO_GPUS
    return made


def test_gpu_servers_get_their_own_device_and_a_third_is_refused(
    db: orm.Session, devices: list[str]
) -> None:
    gina, gale = spawner(db, "gina", devices, "gpu"), spawner(db, "gale", devices, "gpu")
    assert gina.claim_gpus() == {"CUDA_VISIBLE_DEVICES": devices[0]}
    assert gale.claim_gpus() == {"CUDA_VISIBLE_DEVICES": devices[1]}
    assert "this server's own" in gina.spawn_log[-1]

    gus = spawner(db, "gus", devices, "gpu")
    with pytest.raises(web.HTTPError) as refused:
        gus.check_profile_fits(PROFILES["gpu"])  # admission: before anything starts
    assert refused.value.status_code == 409
    assert "all but 0 of this machine's 2 are in use" in refused.value.log_message
    with pytest.raises(web.HTTPError, match="in use by other servers"):
        gus.claim_gpus()  # two spawns admitted at once: the second start still refuses

    gina.clear_state()  # what JupyterHub calls when the server has stopped
    gus.check_profile_fits(PROFILES["gpu"])
    assert gus.claim_gpus() == {"CUDA_VISIBLE_DEVICES": devices[0]}


def test_a_server_without_gpu_sees_none_where_the_machine_has_some(
    db: orm.Session, devices: list[str]
) -> None:
    sam = spawner(db, "sam", devices, "small")
    assert sam.claim_gpus() == {"CUDA_VISIBLE_DEVICES": ""}
    assert spawner(db, "sam", [], "small").claim_gpus() == {}  # no GPU machine: unchanged


def test_no_gpu_machine_refuses_the_profile_as_before(db: orm.Session) -> None:
    with pytest.raises(web.HTTPError) as refused:
        spawner(db, "gina", [], "gpu").check_profile_fits(PROFILES["gpu"])
    assert refused.value.status_code == 409
    assert "this machine has 0" in refused.value.log_message


def test_a_profile_needing_more_gpus_than_the_machine_has(
    db: orm.Session, devices: list[str]
) -> None:
    big = spawner(db, "gina", devices[:1], "gpu2")
    with pytest.raises(web.HTTPError, match=re.escape("needs 2 GPU(s) but this machine has 1")):
        big.check_profile_fits(TWO_GPUS)


def test_gpus_survive_a_hub_restart_in_the_servers_state(
    db: orm.Session, devices: list[str]
) -> None:
    gina = spawner(db, "gina", devices, "gpu2")
    gina.claim_gpus()
    state = gina.get_state()
    assert state["gpus"] == devices

    # the restarted hub's pool starts empty; the state the hub kept restores it
    gina.gpu_pool.release(gina.gpu_owner)
    restored = spawner(db, "gina", devices, "gpu2")
    restored.load_state(state)
    assert restored.gpu_pool.free() == []
    with pytest.raises(web.HTTPError):
        spawner(db, "gus", devices, "gpu").check_profile_fits(PROFILES["gpu"])
    restored.clear_state()
    assert restored.gpu_pool.free() == devices
    assert "gpus" not in restored.get_state()
