"""Who may reach whom on Kubernetes: network policies and the Dask dashboard route.

Egress from workspaces to exactly the ODC database and the gateway's traefik; ingress to
the database and to the Dask pods from the pods that need them; and the traefik route
that sends every Dask dashboard request to the gateway API, which checks who asks.
"""

from __future__ import annotations

from typing import Any

from hub.kube.naming import (
    GATEWAY_API_PORT,
    INGEST,
    gateway_chart_name,
    gateway_pod_labels,
    hub_pod_labels,
    object_meta,
)
from hub.settings import KubernetesSettings

USER_POD_LABELS = {"component": "singleuser-server"}
DASK_POD_EXPRESSION = {
    "key": "app.kubernetes.io/component",
    "operator": "In",
    "values": ["dask-scheduler", "dask-worker"],
}
CNPG_OPERATOR_LABELS = {"app.kubernetes.io/name": "cloudnative-pg"}
#: The CloudNativePG operator polls each instance's status on this port.
CNPG_STATUS_PORT = 8000
#: Traefik's entrypoints in the chart: web (HTTP; also the schedulers' TLS traffic while
#: `traefik.service.ports.tcp.port` is `web`, the chart's default) and tcp.
TRAEFIK_PORTS = (8000, 8786)
#: Bokeh dashboards of schedulers and workers (`--dashboard-address :8787` upstream).
DASHBOARD_PORT = 8787
#: Traefik tries the routes of an entrypoint by priority, which defaults to the length of
#: the rule. The controller's per-cluster rule is `PathPrefix(`<prefix>/clusters/<ns>.<name>/`)`:
#: at most 14 + len(prefix) + 10 + 63 (namespace, a DNS label) + 1 + 58 (cluster name:
#: its Service `dask-<name>` is a DNS label; the gateway uses 32 hex digits) + 1 = 347
#: characters with the longest prefix the settings allow (200). 10 000 is far above that
#: and far below the priorities traefik reserves for its internal routers (near 2**31).
DASHBOARD_ROUTE_PRIORITY = 10_000


def _dask_pods() -> dict[str, Any]:
    return {
        "matchExpressions": [{**DASK_POD_EXPRESSION, "values": list(DASK_POD_EXPRESSION["values"])}]
    }


def longest_cluster_rule(prefix: str) -> int:
    """Length of the longest rule the controller can give a cluster's dashboard route."""
    return len(f"PathPrefix(`{prefix}/clusters/./`)") + 63 + 58


def singleuser_egress(kube: KubernetesSettings) -> list[dict[str, Any]]:
    """Egress rules added to z2jh's singleuser NetworkPolicy (`singleuser.networkPolicy.egress`).

    z2jh already allows DNS, non-private addresses, the hub (8081) and the proxy pods
    (8000: `proxy-public`, the gateway API's address) and blocks private ranges and the
    cloud metadata server; these open exactly the ODC database and the gateway's traefik
    (scheduler TLS traffic). Scheduler and worker pods, and their dashboards, stay closed.
    """
    return [
        {
            "to": [{"podSelector": {"matchLabels": dict(kube.odc_db_pod_labels)}}],
            "ports": [{"port": kube.odc_db_port, "protocol": "TCP"}],
        },
        {
            "to": [{"podSelector": {"matchLabels": gateway_pod_labels(kube, "traefik")}}],
            "ports": [{"port": port, "protocol": "TCP"} for port in TRAEFIK_PORTS],
        },
    ]


def database_ingress_policy(kube: KubernetesSettings) -> dict[str, Any]:
    """Only workspaces, Dask pods, the ingest job, the hub and the gateway API (quotas and
    usage in database `sdl`), the other instances and the operator."""
    port = [{"port": kube.odc_db_port, "protocol": "TCP"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta("sdl-odc-db-ingress", kube),
        "spec": {
            "podSelector": {"matchLabels": dict(kube.odc_db_pod_labels)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": dict(USER_POD_LABELS)}},
                        {"podSelector": _dask_pods()},
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": INGEST}}},
                        {"podSelector": {"matchLabels": hub_pod_labels(kube)}},
                        {"podSelector": {"matchLabels": gateway_pod_labels(kube, "gateway")}},
                    ],
                    "ports": port,
                },
                {"from": [{"podSelector": {"matchLabels": dict(kube.odc_db_pod_labels)}}]},
                {
                    "from": [
                        {
                            "namespaceSelector": {},
                            "podSelector": {"matchLabels": dict(CNPG_OPERATOR_LABELS)},
                        }
                    ],
                    "ports": [{"port": CNPG_STATUS_PORT, "protocol": "TCP"}],
                },
            ],
        },
    }


def dask_pod_ingress_policy(kube: KubernetesSettings) -> dict[str, Any]:
    """Dashboards (8787) only from the gateway API pods, which check who asks.

    Every other port (scheduler 8786 and its API 8788, workers' and nannies' ports, which
    are chosen at random) from Dask pods, the chart's traefik (scheduler TLS) and the API.
    Port ranges need a CNI that supports `endPort` (Calico, Cilium, most current ones).
    """
    api = {"podSelector": {"matchLabels": gateway_pod_labels(kube, "gateway")}}
    traefik = {"podSelector": {"matchLabels": gateway_pod_labels(kube, "traefik")}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta("sdl-dask-pods-ingress", kube),
        "spec": {
            "podSelector": _dask_pods(),
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [api], "ports": [{"port": DASHBOARD_PORT, "protocol": "TCP"}]},
                {
                    "from": [{"podSelector": _dask_pods()}, traefik, api],
                    "ports": [
                        {"port": 1, "endPort": DASHBOARD_PORT - 1, "protocol": "TCP"},
                        {"port": DASHBOARD_PORT + 1, "endPort": 65535, "protocol": "TCP"},
                    ],
                },
            ],
        },
    }


def dask_dashboard_route(kube: KubernetesSettings) -> dict[str, Any]:
    """Every Dask dashboard request to the gateway API, which lets only owner and admins in.

    The controller routes `<prefix>/clusters/<ns>.<name>/` straight to the scheduler's
    dashboard, unauthenticated. This route matches the whole `<prefix>/clusters/` tree,
    a prefix of every such path, with a higher priority (DASHBOARD_ROUTE_PRIORITY), so it
    always wins; the chart's `api-prefix-` middleware strips the prefix, so the API sees
    `/clusters/<name>/<tail>`. The chart's traefik reads only routes labelled with the
    release's `gateway.dask.org/instance`.
    """
    instance = {"gateway.dask.org/instance": kube.gateway_release_fullname}
    return {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": object_meta("sdl-dask-dashboards", kube, labels=instance),
        "spec": {
            "entryPoints": ["web"],
            "routes": [
                {
                    "kind": "Rule",
                    "match": f"PathPrefix(`{kube.gateway_prefix}/clusters/`)",
                    "priority": DASHBOARD_ROUTE_PRIORITY,
                    "services": [
                        {
                            "name": gateway_chart_name(kube, "api"),
                            "namespace": kube.namespace,
                            "port": GATEWAY_API_PORT,
                        }
                    ],
                    "middlewares": [
                        {
                            "name": gateway_chart_name(kube, "api-prefix"),
                            "namespace": kube.namespace,
                        }
                    ],
                }
            ],
        },
    }
