"""Handing out templates never overwrites a file the user changed or deleted."""

from __future__ import annotations

from pathlib import Path

from hub.templates_seed import seed_templates


def make_source(root: Path) -> Path:
    source = root / "templates"
    (source / "sub").mkdir(parents=True)
    (source / "01-intro.ipynb").write_text("intro v1")
    (source / "sub" / "data.csv").write_text("a,b\n")
    (source / ".ipynb_checkpoints").mkdir()
    (source / ".ipynb_checkpoints" / "x.ipynb").write_text("hidden")
    return source


def test_first_seeding_copies_everything_but_hidden(tmp_path: Path) -> None:
    source, home = make_source(tmp_path), tmp_path / "home"
    report = seed_templates(source, home / "examples")
    assert sorted(report.copied) == ["01-intro.ipynb", "sub/data.csv"]
    assert (home / "examples" / "01-intro.ipynb").read_text() == "intro v1"
    assert not (home / "examples" / ".ipynb_checkpoints").exists()


def test_user_changes_survive_and_untouched_files_update(tmp_path: Path) -> None:
    source, target = make_source(tmp_path), tmp_path / "home" / "examples"
    seed_templates(source, target)
    (target / "01-intro.ipynb").write_text("my own notes")
    (source / "01-intro.ipynb").write_text("intro v2")
    (source / "sub" / "data.csv").write_text("a,b,c\n")
    report = seed_templates(source, target)
    assert report.kept_user_changes == ["01-intro.ipynb"]
    assert report.updated == ["sub/data.csv"]
    assert (target / "01-intro.ipynb").read_text() == "my own notes"
    assert (target / "sub" / "data.csv").read_text() == "a,b,c\n"


def test_a_deleted_file_stays_deleted_and_new_ones_arrive(tmp_path: Path) -> None:
    source, target = make_source(tmp_path), tmp_path / "home" / "examples"
    seed_templates(source, target)
    (target / "01-intro.ipynb").unlink()
    (source / "02-new.ipynb").write_text("new")
    report = seed_templates(source, target)
    assert not (target / "01-intro.ipynb").exists()
    assert report.copied == ["02-new.ipynb"]


def test_a_symlink_planted_by_the_user_is_never_followed(tmp_path: Path) -> None:
    source, target = make_source(tmp_path), tmp_path / "home" / "examples"
    target.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("do not touch")
    (target / "01-intro.ipynb").symlink_to(outside)
    report = seed_templates(source, target)
    assert "01-intro.ipynb" in report.kept_user_changes
    assert outside.read_text() == "do not touch"
