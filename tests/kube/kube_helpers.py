"""Helpers shared by the Kubernetes-mode tests."""

from __future__ import annotations

import asyncio
from typing import Any

import kubernetes_validate
from traitlets.config import Config

from hub.kube.render import SampleUser, spawn_manifests

#: Kubernetes releases whose OpenAPI schemas (shipped by kubernetes-validate) every
#: object must pass, strictly: the supported window (issue 15: 1.32-1.35).
KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35")


def validate_strict(obj: dict[str, Any]) -> None:
    """`obj` against the OpenAPI schema of every supported Kubernetes, no unknown fields."""
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def manifests(c: Config, user: SampleUser, options: Any) -> tuple[Any, dict, dict]:
    """(spawner, pod, pvc) as a real spawn would build them; HTTPError when refused."""
    return asyncio.run(spawn_manifests(c, user, options))


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector matched against a pod's labels, as the API server does."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, values = expression["key"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[expression["operator"]]
        if not matched:
            return False
    return True


def _peer_matches(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    """A same-namespace pod against one from/to peer (ipBlocks never match a pod here)."""
    if "ipBlock" in peer or peer.get("namespaceSelector", {}) != {}:
        return False
    return selects(peer.get("podSelector", {}), labels)


def _port_matches(entry: dict[str, Any], port: int) -> bool:
    first = entry["port"]
    return entry.get("protocol", "TCP") == "TCP" and first <= port <= entry.get("endPort", first)


def rules_allow(rules: list[dict[str, Any]], peers: str, labels: dict[str, str], port: int) -> bool:
    """Whether NetworkPolicy `rules` (ingress: peers "from"; egress: "to") let a pod of the
    same namespace with `labels` connect on TCP `port`."""
    for rule in rules:
        peer_ok = peers not in rule or any(_peer_matches(p, labels) for p in rule[peers])
        port_ok = "ports" not in rule or any(_port_matches(e, port) for e in rule["ports"])
        if peer_ok and port_ok:
            return True
    return False
