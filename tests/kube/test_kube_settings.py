from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.settings import KubernetesSettings


def test_defaults_are_complete_and_described() -> None:
    kube = KubernetesSettings()
    assert kube.namespace == "sdl"
    assert kube.home_size == "10Gi"
    assert kube.uid == 1000 and kube.fs_gid == 100
    assert kube.archive.source(read_only=True) == {
        "persistentVolumeClaim": {"claimName": "sdl-archive", "readOnly": True}
    }
    undocumented = [
        name
        for name, f in KubernetesSettings.model_fields.items()
        if not f.description and name != "ingest"
    ]
    assert undocumented == []


def test_nfs_archive() -> None:
    kube = KubernetesSettings(archive={"type": "nfs", "nfs_server": "nas", "nfs_path": "/eo"})
    assert kube.archive.source(read_only=False) == {
        "nfs": {"server": "nas", "path": "/eo", "readOnly": False}
    }


@pytest.mark.parametrize(
    "document",
    [
        {"archive": {"type": "nfs"}},
        {"home_size": "10 GB"},
        {"uid": 0},
        {"namespace": "Not_A_Name"},
        {"hub_image": "ghcr.io/x/y:1", "typo": 1},
    ],
)
def test_bad_settings_are_refused(document: dict) -> None:
    with pytest.raises(ValidationError):
        KubernetesSettings.model_validate(document)


def test_sizes_keep_their_spelling() -> None:
    assert KubernetesSettings(home_size="20G").home_size == "20G"
    assert KubernetesSettings(home_size=2**31).home_size == "2Gi"
    assert KubernetesSettings(storage_class="").storage_class is None
