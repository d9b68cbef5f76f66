"""Profile files: the shipped set, sizes, and errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import SettingsError
from hub.paths import shipped_dir
from hub.profiles import format_size, load_profiles, parse_size

GOOD = """\
slug: tiny
display_name: Tiny
cpu_guarantee: 0.5
cpu_limit: 1
mem_guarantee: 1Gi
mem_limit: 2Gi
"""


def test_shipped_profiles_match_the_issue() -> None:
    profiles = {p.slug: p for p in load_profiles(shipped_dir("spawner_profiles"))}
    assert set(profiles) >= {"small", "medium", "large", "gpu"}
    assert (profiles["small"].cpu_limit, profiles["small"].mem_limit) == (2, 8 * 2**30)
    assert (profiles["medium"].cpu_limit, profiles["medium"].mem_limit) == (4, 16 * 2**30)
    assert (profiles["large"].cpu_limit, profiles["large"].mem_limit) == (8, 32 * 2**30)
    assert profiles["gpu"].gpus == 1 and profiles["gpu"].groups == ["gpu-users"]
    assert [p.slug for p in profiles.values() if p.default] == ["small"]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8Gi", 8 * 2**30),
        ("8G", 8 * 10**9),
        ("512Mi", 512 * 2**20),
        (1024, 1024),
        ("1.5Gi", 3 * 2**29),
    ],
)
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


def test_format_size_round_trips() -> None:
    assert format_size(parse_size("32Gi")) == "32Gi"


@pytest.mark.parametrize(
    ("replace", "field", "message"),
    [
        (("mem_limit: 2Gi", "mem_limit: 32 GB"), "mem_limit", "'32 GB' is not a size"),
        (("cpu_limit: 1", "cpu_limit: many"), "cpu_limit", "valid number"),
        (("slug: tiny", "slug: Tiny Profile"), "slug", "should match pattern"),
        (("cpu_guarantee: 0.5", "cpu_guarantee: 4"), "(top level)", "exceeds cpu_limit"),
        (("display_name: Tiny", "display_nme: Tiny"), "display_nme", "unknown setting"),
    ],
)
def test_malformed_profile_names_file_and_field(
    tmp_path: Path, replace: tuple[str, str], field: str, message: str
) -> None:
    (tmp_path / "tiny.yaml").write_text(GOOD.replace(*replace))
    with pytest.raises(SettingsError) as raised:
        load_profiles(tmp_path)
    text = str(raised.value)
    assert f"{tmp_path / 'tiny.yaml'}: {field}:" in text
    assert message in text


def test_duplicate_slugs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(SettingsError, match="slug: 'tiny' is already used"):
        load_profiles(tmp_path)


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no profile files"):
        load_profiles(tmp_path)
