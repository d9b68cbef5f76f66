"""helm-values/ against the pinned charts' own contracts, as `helm install` checks them.

helm merges the `-f` files in order (maps recursively, anything else replaces), then
coalesces them over the chart's `values.yaml` (a null deletes the default), and validates
the result with the chart's JSON schema; one error refuses the release. The charts'
schemas and defaults are committed under tests/kube/charts/<chart>-<version>/ (see the
README there); the folder is derived from the pin in helmfile.yaml, so bumping a chart
without its new contract fails here.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "helm-values"
CHARTS = Path(__file__).resolve().parent / "charts"

#: Overlays and the values file they go over (`-f jupyterhub.yaml -f OVERLAY`).
OVERLAYS = {"small-cluster.yaml": "jupyterhub.yaml", "workshop-burst.yaml": "jupyterhub.yaml"}
#: Documents under helm-values/ that are not chart values.
NOT_VALUES = {"helmfile.yaml", "postgres/odc-cluster.yaml"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def merge_files(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Two `-f` files as helm merges them: maps recursively, anything else (lists,
    scalars, null) replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_files(merged[key], value)
        else:
            merged[key] = value
    return merged


def coalesce(user: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The user's values over the chart's defaults, as helm coalesces them: a null
    deletes the default, maps merge, the user's value wins otherwise."""
    result = dict(user)
    for key, default in defaults.items():
        if key not in result:
            result[key] = copy.deepcopy(default)
        elif result[key] is None:
            del result[key]
        elif isinstance(result[key], dict) and isinstance(default, dict):
            result[key] = coalesce(result[key], default)
    return result


@dataclass(frozen=True)
class Contract:
    """A chart's schema and defaults at one version (a folder under tests/kube/charts)."""

    folder: Path
    schema: dict[str, Any]
    defaults: dict[str, Any]

    def validators(self) -> list[Validator]:
        """The declared draft's validator, or (none declared) draft 7 and 2020-12 both:
        helm's validator picks the draft from `$schema`, so pass whichever it takes."""
        declared = validator_for(self.schema, default=None)  # type: ignore[call-overload]
        classes = [declared] if declared else [Draft7Validator, Draft202012Validator]
        return [cls(self.schema) for cls in classes]

    def errors(self, values: dict[str, Any]) -> list[str]:
        found = {
            f"{error.json_path}: {error.message}"
            for validator in self.validators()
            for error in validator.iter_errors(values)
        }
        return sorted(found)


def contract(chart: str, version: str) -> Contract:
    """The committed contract of `chart` at `version`; fails with what to fetch."""
    folder = CHARTS / f"{chart}-{version}"
    schemas = [folder / name for name in ("values.schema.json", "values.schema.yaml")]
    present = [path for path in schemas if path.is_file()]
    if not present or not (folder / "values.yaml").is_file():
        pytest.fail(
            f"helm-values/helmfile.yaml pins {chart} {version}, but {folder.relative_to(ROOT)}/ "
            "lacks its values.yaml and values.schema.(json|yaml): copy them from the chart's "
            "release tag with a README.md (see the other folders there)"
        )
    return Contract(folder, load(present[0]), load(folder / "values.yaml"))


def releases() -> list[dict[str, Any]]:
    return load(VALUES / "helmfile.yaml")["releases"]


def chart_name(release: dict[str, Any]) -> str:
    return str(release["chart"]).split("/")[-1]


def deployments() -> list[tuple[str, str, list[str]]]:
    """(chart, version, values files in -f order): each release, then each overlay."""
    found = []
    for release in releases():
        name, version = chart_name(release), str(release["version"])
        found.append((name, version, list(release["values"])))
        for overlay, base in OVERLAYS.items():
            if base in release["values"]:
                found.append((name, version, [*release["values"], overlay]))
    return found


def helm_values(contract_: Contract, files: list[str]) -> dict[str, Any]:
    user: dict[str, Any] = {}
    for name in files:
        user = merge_files(user, load(VALUES / name) or {})
    return coalesce(user, contract_.defaults)


def test_every_values_document_is_checked() -> None:
    documents = {str(p.relative_to(VALUES)) for p in VALUES.rglob("*.yaml")}
    checked = {name for _, _, files in deployments() for name in files}
    assert documents - NOT_VALUES == checked


@pytest.mark.parametrize(
    ("chart", "version"), [(chart_name(r), str(r["version"])) for r in releases()]
)
def test_contract_is_the_pinned_release(chart: str, version: str) -> None:
    """The folder's README names this version, and its files are the ones it lists."""
    found = contract(chart, version)
    readme = (found.folder / "README.md").read_text()
    assert f"version `{version}`" in readme
    assert (found.folder / "LICENSE").is_file()
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    # files/ holds chart files other tests run (jupyterhub: the hub pod's config)
    files = {
        str(p.relative_to(found.folder))
        for p in found.folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    files -= {"README.md", "LICENSE"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((found.folder / name).read_bytes()).hexdigest() == digest, name


def test_a_bumped_pin_without_its_contract_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match=re.escape("pins jupyterhub 99.0.0,")):
        contract("jupyterhub", "99.0.0")


@pytest.mark.parametrize(
    ("chart", "version"), sorted({(chart_name(r), str(r["version"])) for r in releases()})
)
def test_chart_defaults_pass_their_own_schema(chart: str, version: str) -> None:
    """What upstream's tools/validate-against-schema.py checks: the fixtures and this
    validation agree before our values are judged by them."""
    found = contract(chart, version)
    assert found.errors(found.defaults) == []


@pytest.mark.parametrize(
    ("chart", "version", "files"),
    deployments(),
    ids=[" + ".join(files) for _, _, files in deployments()],
)
def test_values_pass_the_chart_schema(chart: str, version: str, files: list[str]) -> None:
    found = contract(chart, version)
    assert found.errors(helm_values(found, files)) == []


@pytest.mark.parametrize(
    ("chart", "version", "files", "change", "expected"),
    [
        # what dask-gateway.yaml held before: helm refused the release
        (
            "dask-gateway",
            "2026.3.0",
            ["dask-gateway.yaml"],
            {"gateway": {"extraPodConfig": {}, "extraContainerConfig": {}}},
            "$.gateway: Additional properties are not allowed ('extraContainerConfig', "
            "'extraPodConfig' were unexpected)",
        ),
        (
            "jupyterhub",
            "4.4.0",
            ["jupyterhub.yaml"],
            {"hub": {"extraVolume": []}},
            "$.hub: Additional properties are not allowed ('extraVolume' was unexpected)",
        ),
        (
            "jupyterhub",
            "4.4.0",
            ["jupyterhub.yaml"],
            {"cull": {"timeout": "1h"}},
            "$.cull.timeout: '1h' is not of type 'integer', 'null'",
        ),
        (
            "cloudnative-pg",
            "0.23.0",
            ["cloudnative-pg.yaml"],
            {"config": {"clusterWide": "yes"}},
            "$.config.clusterWide: 'yes' is not of type 'boolean'",
        ),
    ],
)
def test_the_check_refuses_what_helm_refuses(
    chart: str, version: str, files: list[str], change: dict[str, Any], expected: str
) -> None:
    found = contract(chart, version)
    values = merge_files(helm_values(found, files), change)
    assert expected in found.errors(values)


def test_merge_is_helms() -> None:
    defaults = {"a": {"keep": 1, "drop": 2, "list": [1, 2]}, "b": 3}
    user = merge_files({"a": {"list": [9], "drop": 5}}, {"a": {"drop": None}, "c": None})
    assert coalesce(user, defaults) == {"a": {"keep": 1, "list": [9]}, "b": 3, "c": None}


def test_cloudnative_pg_keys_exist_in_the_chart() -> None:
    """Its schema checks types only (no additionalProperties: false), so a misspelt key
    would pass helm and do nothing: every key we set must be one the chart has."""
    release = next(r for r in releases() if chart_name(r) == "cloudnative-pg")
    defaults = contract("cloudnative-pg", str(release["version"])).defaults

    def unknown(ours: dict[str, Any], theirs: dict[str, Any], prefix: str) -> list[str]:
        missing = []
        for key, value in ours.items():
            if key not in theirs:
                missing.append(prefix + key)
            elif isinstance(value, dict) and isinstance(theirs[key], dict) and theirs[key]:
                missing += unknown(value, theirs[key], f"{prefix}{key}.")
        return missing

    for name in release["values"]:
        assert unknown(load(VALUES / name), defaults, "") == []
