"""Dask dashboards are reached only through the gateway API; who may talk to whom.

The route is compared with the one upstream's own controller (the installed
dask_gateway_server) makes for a cluster; the policies are validated strictly and then
evaluated against the labels the charts and the controller give each kind of pod.
"""

from __future__ import annotations

import re
import uuid

import pytest
from dask_gateway_server.backends.kubernetes.controller import KubeController
from kube_helpers import rules_allow, selects, validate_strict
from pydantic import ValidationError

from hub.kube.naming import gateway_chart_name
from hub.kube.network import (
    dask_dashboard_route,
    dask_pod_ingress_policy,
    database_ingress_policy,
    longest_cluster_rule,
    singleuser_egress,
)
from hub.settings import KubernetesSettings

KUBE = KubernetesSettings()
FULLNAME = "sdl-dask-gateway"
#: The longest realistic cluster: a namespace at the DNS-label limit, a gateway cluster name.
NAMESPACE, CLUSTER = "n" * 63, uuid.uuid4().hex


def controller(prefix: str = KUBE.gateway_prefix) -> KubeController:
    """Upstream's controller as the chart's controller/configmap.yaml configures it.

    Not initialize()d: that would read a config file and build its aiohttp app.
    """
    return KubeController(
        gateway_instance=FULLNAME,
        proxy_prefix=prefix,
        proxy_web_middlewares=[{"name": f"clusters-prefix-{FULLNAME}", "namespace": "sdl"}],
    )


def chart_pod(component: str) -> dict[str, str]:
    """Labels of a dask-gateway chart pod (templates' `dask-gateway.labels` + component)."""
    labels = {
        "app.kubernetes.io/name": "dask-gateway",
        "app.kubernetes.io/instance": FULLNAME,
        "app.kubernetes.io/managed-by": "Helm",
        "gateway.dask.org/instance": FULLNAME,
        "app.kubernetes.io/component": component,
    }
    if component == "gateway":  # gateway/deployment.yaml
        labels["hub.jupyter.org/network-access-hub"] = "true"
    return labels


def z2jh_pod(component: str) -> dict[str, str]:
    """Labels of a z2jh 4.x pod of release `sdl` (legacy and modern match labels)."""
    labels = {
        "component": component,
        "app": "jupyterhub",
        "release": "sdl",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/name": "jupyterhub",
        "app.kubernetes.io/instance": "sdl",
    }
    if component == "singleuser-server":
        labels["hub.jupyter.org/network-access-hub"] = "true"
    return labels


PODS = {
    "user": z2jh_pod("singleuser-server"),
    "hub": z2jh_pod("hub"),
    "proxy": z2jh_pod("proxy"),
    "gateway-api": chart_pod("gateway"),
    "traefik": chart_pod("traefik"),
    "controller": chart_pod("controller"),
    "dask-scheduler": controller().get_labels(CLUSTER, "dask-scheduler"),
    "dask-worker": controller().get_labels(CLUSTER, "dask-worker"),
    "ingest": {
        "app.kubernetes.io/name": "sdl-ingest",
        "app.kubernetes.io/part-of": "space-data-lab",
    },
    "odc-db": {"cnpg.io/cluster": "sdl-odc-db", "cnpg.io/instanceRole": "primary"},
}
DASK = {"dask-scheduler", "dask-worker"}


def admitted(rules: list[dict], peers: str, port: int) -> set[str]:
    return {name for name, labels in PODS.items() if rules_allow(rules, peers, labels, port)}


def only_rule(route: dict) -> dict:
    (rule,) = route["spec"]["routes"]
    return rule


def path_of(rule: dict) -> str:
    match = re.fullmatch(r"PathPrefix\(`([^`]+)`\)", rule["match"])
    assert match, rule["match"]
    return match[1]


def test_route_has_upstreams_shape_and_wins_over_every_cluster_route() -> None:
    ours, theirs = dask_dashboard_route(KUBE), controller().make_ingressroute(CLUSTER, NAMESPACE)
    assert (ours["apiVersion"], ours["kind"]) == (theirs["apiVersion"], theirs["kind"])
    assert ours["spec"]["entryPoints"] == theirs["spec"]["entryPoints"] == ["web"]
    ours_rule, their_rule = only_rule(ours), only_rule(theirs)
    assert set(ours_rule) == set(their_rule) | {"priority"}  # upstream: default priority
    assert ours_rule["kind"] == their_rule["kind"] == "Rule"
    # every path upstream's route matches, ours matches too...
    assert path_of(ours_rule) == "/services/dask-gateway/clusters/"
    assert path_of(their_rule).startswith(path_of(ours_rule))
    assert path_of(their_rule) == f"/services/dask-gateway/clusters/{NAMESPACE}.{CLUSTER}/"
    # ...and comes first: traefik's default priority is the rule's length
    assert ours_rule["priority"] > len(their_rule["match"])
    assert their_rule["services"][0]["port"] == 8787  # what ours replaces
    assert ours_rule["services"] == [
        {"name": "api-sdl-dask-gateway", "namespace": "sdl", "port": 8000}
    ]
    assert ours_rule["middlewares"] == [{"name": "api-prefix-sdl-dask-gateway", "namespace": "sdl"}]
    # the chart's traefik reads only routes carrying its instance label (traefik/deployment.yaml)
    instance = "gateway.dask.org/instance"
    assert ours["metadata"]["labels"][instance] == theirs["metadata"]["labels"][instance]
    assert ours["metadata"]["namespace"] == "sdl"


def test_priority_beats_the_longest_rule_any_settings_allow() -> None:
    prefix = "/" + "p" * 199  # gateway_prefix's maximum length
    longest = only_rule(controller(prefix).make_ingressroute("c" * 58, NAMESPACE))["match"]
    assert len(longest) == longest_cluster_rule(prefix) == 347
    assert (
        only_rule(dask_dashboard_route(KubernetesSettings(gateway_prefix=prefix)))["priority"] > 347
    )
    with pytest.raises(ValidationError):
        KubernetesSettings(gateway_prefix="/" + "p" * 200)


@pytest.mark.parametrize("prefix", ["/services/dask-gateway/", "services", "/", "/a`)||Host(`x"])
def test_bad_gateway_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match="gateway_prefix"):
        KubernetesSettings(gateway_prefix=prefix)


def test_names_follow_the_release_fullname_like_the_chart() -> None:
    kube = KubernetesSettings(gateway_release_fullname="lab-dask-gateway")
    rule = only_rule(dask_dashboard_route(kube))
    assert rule["services"][0]["name"] == "api-lab-dask-gateway"
    assert rule["middlewares"][0]["name"] == "api-prefix-lab-dask-gateway"
    assert dask_dashboard_route(kube)["metadata"]["labels"]["gateway.dask.org/instance"] == (
        "lab-dask-gateway"
    )
    # helm: printf "api-prefix-%s" | trunc 63 | trimSuffix "-"
    long = KubernetesSettings(gateway_release_fullname="a" * 51 + "-" + "b" * 11)
    assert gateway_chart_name(long, "api-prefix") == "api-prefix-" + "a" * 51


@pytest.mark.parametrize("build", [database_ingress_policy, dask_pod_ingress_policy])
def test_policies_are_valid(build) -> None:
    validate_strict(build(KUBE))


def test_database_admits_the_hub_and_the_gateway_api_and_nothing_else_new() -> None:
    policy = database_ingress_policy(KUBE)
    assert selects(policy["spec"]["podSelector"], PODS["odc-db"])
    before = {"user", "ingest", "odc-db", *DASK}
    now = admitted(policy["spec"]["ingress"], "from", 5432)
    assert now - before == {"hub", "gateway-api"}
    assert now == before | {"hub", "gateway-api"}  # not traefik, the proxy or the controller
    assert admitted(policy["spec"]["ingress"], "from", 22) == {"odc-db"}


def test_dashboards_admit_only_the_gateway_api() -> None:
    policy = dask_pod_ingress_policy(KUBE)
    targets = {
        name for name, labels in PODS.items() if selects(policy["spec"]["podSelector"], labels)
    }
    assert targets == DASK
    rules = policy["spec"]["ingress"]
    assert admitted(rules, "from", 8787) == {"gateway-api"}
    # scheduler comm and API, and the workers' random ports, edges of both ranges included
    for port in (1, 8786, 8788, 40123, 65535):
        assert admitted(rules, "from", port) == {"gateway-api", "traefik", *DASK}, port


def test_workspaces_reach_traefik_but_no_dask_pod() -> None:
    egress = singleuser_egress(KUBE)
    assert admitted(egress, "to", 8000) == {"traefik"}  # web entrypoint, also scheduler TLS
    assert admitted(egress, "to", 8786) == {"traefik"}  # tcp entrypoint, when separate
    assert admitted(egress, "to", 8787) == set()
    assert admitted(egress, "to", 9000) == set()  # traefik's own dashboard entrypoint
    assert admitted(egress, "to", 5432) == {"odc-db"}
