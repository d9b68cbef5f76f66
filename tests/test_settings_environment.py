"""One way for every process to find its settings: `settings_from_environment`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import SettingsError
from hub.settings import (
    CONFIG_ENV,
    CONFIG_TEXT_ENV,
    load_settings,
    settings_from_environment,
)

DOCUMENT = "mode: kubernetes\nhub:\n  port: 8123\ndata:\n  twins: all\n"


def _file(tmp_path: Path, text: str = DOCUMENT) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def test_the_file_and_its_text_load_alike(tmp_path: Path) -> None:
    path = _file(tmp_path)
    from_file = settings_from_environment({CONFIG_ENV: str(path)})
    from_text = settings_from_environment({CONFIG_TEXT_ENV: DOCUMENT})
    assert from_file == from_text == load_settings(path, environ={})
    assert from_file.hub.port == 8123  # the document, not the defaults


def test_nothing_set_is_the_defaults_or_the_default_file(tmp_path: Path) -> None:
    assert settings_from_environment({}) == load_settings(None, environ={})
    path = _file(tmp_path)
    assert settings_from_environment({}, default_file=path).hub.port == 8123
    # a named file wins over the default one
    other = tmp_path / "other.yaml"
    other.write_text("hub: {port: 9000}\n")
    assert settings_from_environment({CONFIG_ENV: str(other)}, default_file=path).hub.port == 9000


def test_both_set_is_an_error_that_names_both(tmp_path: Path) -> None:
    path = _file(tmp_path)
    with pytest.raises(SettingsError) as caught:
        settings_from_environment({CONFIG_ENV: str(path), CONFIG_TEXT_ENV: DOCUMENT})
    message = str(caught.value)
    assert CONFIG_ENV in message and CONFIG_TEXT_ENV in message and str(path) in message


def test_errors_name_the_variable_or_the_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=f"^{CONFIG_TEXT_ENV}: expected a mapping"):
        settings_from_environment({CONFIG_TEXT_ENV: "- a list\n"})
    with pytest.raises(SettingsError, match=f"^{CONFIG_TEXT_ENV} \\(line \\d+\\): not valid YAML"):
        settings_from_environment({CONFIG_TEXT_ENV: "hub: [\n"})
    with pytest.raises(SettingsError, match=f"^{CONFIG_TEXT_ENV}:.*mode"):
        settings_from_environment({CONFIG_TEXT_ENV: "mode: nowhere\n"})
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SettingsError, match=f"^{missing}: cannot read"):
        settings_from_environment({CONFIG_ENV: str(missing)})


def test_instance_variables_then_overrides_then_secrets(tmp_path: Path) -> None:
    path = _file(tmp_path, "mode: local\n")
    env = {CONFIG_ENV: str(path), "SDL_DATA_DIR": str(tmp_path / "data"), "SDL_MODE": "kubernetes"}
    settings = settings_from_environment(env)
    assert settings.data_dir == tmp_path / "data"
    assert settings.mode == "kubernetes"  # SDL_MODE over the file
    overridden = settings_from_environment(env, overrides={"data_dir": str(tmp_path / "x")})
    assert overridden.data_dir == tmp_path / "x"  # the caller's overrides over SDL_DATA_DIR
    secret = settings_from_environment({**env, "SDL_SHARED_PASSWORD": "s" * 12})
    assert secret.auth.shared_password == "s" * 12  # secrets from the environment, as ever
