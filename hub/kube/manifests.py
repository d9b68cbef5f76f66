"""Pure builders for the Kubernetes objects the platform ships besides user pods.

Network policies around the ODC database and the Dask pods, the traefik route that sends
every Dask dashboard request to the gateway API (which checks who asks), the admin ingest
CronJob with its ServiceAccount/Role/RoleBinding, and templates of the two database
Secrets. Only the ingest job ever sees the writing credentials.

Names and labels of the dask-gateway chart's objects follow its `_helpers.tpl` (chart
2026.3.0); the gateway and its Dask pods live in `kube.namespace`, like the hub.
"""

from __future__ import annotations

from typing import Any

from hub.kube.builders import container_security_context, pod_security_context
from hub.settings import KubernetesSettings

INGEST = "sdl-ingest"
PART_OF = {"app.kubernetes.io/part-of": "space-data-lab"}
USER_POD_LABELS = {"component": "singleuser-server"}
DASK_POD_EXPRESSION = {
    "key": "app.kubernetes.io/component",
    "operator": "In",
    "values": ["dask-scheduler", "dask-worker"],
}
CNPG_OPERATOR_LABELS = {"app.kubernetes.io/name": "cloudnative-pg"}
#: The CloudNativePG operator polls each instance's status on this port.
CNPG_STATUS_PORT = 8000
#: The gateway API service's port (the chart's `api-<fullname>`).
GATEWAY_API_PORT = 8000
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


def _meta(name: str, kube: KubernetesSettings, **extra: Any) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name, **PART_OF, **extra.pop("labels", {})}
    return {"name": name, "namespace": kube.namespace, "labels": labels, **extra}


def gateway_chart_name(kube: KubernetesSettings, kind: str) -> str:
    """A dask-gateway chart object's name: `<kind>-<fullname>`, trunc 63, trimSuffix "-"."""
    return f"{kind}-{kube.gateway_release_fullname}"[:63].removesuffix("-")


def gateway_pod_labels(kube: KubernetesSettings, component: str) -> dict[str, str]:
    """Labels of the chart's `component` pods of this release (`gateway` is the API)."""
    return {
        "gateway.dask.org/instance": kube.gateway_release_fullname,
        "app.kubernetes.io/component": component,
    }


def hub_pod_labels(kube: KubernetesSettings) -> dict[str, str]:
    """z2jh's match labels of the hub pod (as in its own network policies)."""
    return {"component": "hub", "app": "jupyterhub", "release": kube.release}


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
        "metadata": _meta("sdl-odc-db-ingress", kube),
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
        "metadata": _meta("sdl-dask-pods-ingress", kube),
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
        "metadata": _meta("sdl-dask-dashboards", kube, labels=instance),
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


def secret_templates(kube: KubernetesSettings, database: str = "datacube") -> list[dict[str, Any]]:
    """The two database Secrets with placeholder values, to be filled by the operator.

    URLs use the psycopg2 driver explicitly (SQLAlchemy 2.1 maps `postgresql://` to
    psycopg 3, which datacube 1.9 does not accept).
    """
    host = f"sdl-odc-db-rw.{kube.namespace}.svc"

    def secret(name: str, role: str, purpose: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(
                name, kube, annotations={"sdl.lab/template": f"replace CHANGE_ME; {purpose}"}
            ),
            "type": "Opaque",
            "stringData": {
                kube.odc_secret_key: (
                    f"postgresql+psycopg2://{role}:CHANGE_ME@{host}:{kube.odc_db_port}/{database}"
                )
            },
        }

    return [
        secret(kube.odc_secret_name, "sdl_reader", "read-only role, given to every workspace"),
        secret(kube.odc_admin_secret_name, "sdl_ingest", "writing role, ingest job only"),
    ]


def ingest_rbac(kube: KubernetesSettings) -> list[dict[str, Any]]:
    """A ServiceAccount of its own; the Role names the one Secret it may read.

    The job's pod gets no API token (the Secret reaches it through `secretKeyRef`), so the
    Role mainly documents, for `kubectl auth can-i` reviews, who may read that Secret.
    """
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(INGEST, kube),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(INGEST, kube),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": [kube.odc_admin_secret_name],
                    "verbs": ["get"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(INGEST, kube),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": INGEST},
            "subjects": [{"kind": "ServiceAccount", "name": INGEST, "namespace": kube.namespace}],
        },
    ]


def _ingest_pod(kube: KubernetesSettings, command: list[str]) -> dict[str, Any]:
    """The ingest pod: writing database role, archive writable at /srv/archive."""
    ingest = kube.ingest
    resources = {"cpu": f"{ingest.cpu:g}", "memory": ingest.memory}
    security = {**container_security_context(), "runAsUser": kube.uid, "runAsGroup": kube.gid}
    container = {
        "name": "ingest",
        "image": kube.ingest_image,
        "imagePullPolicy": kube.image_pull_policy,
        "command": command,
        "env": [
            {
                "name": "ODC_DEFAULT_DB_URL",
                "valueFrom": {
                    "secretKeyRef": {"name": kube.odc_admin_secret_name, "key": kube.odc_secret_key}
                },
            },
            {"name": "ODC_DEFAULT_INDEX_DRIVER", "value": "postgres"},
            {"name": "SDL_ARCHIVE_DIR", "value": "/srv/archive"},
        ],
        "resources": {"requests": resources, "limits": resources},
        "securityContext": security,
        "volumeMounts": [{"name": "archive", "mountPath": "/srv/archive"}],
    }
    return {
        "serviceAccountName": INGEST,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": {**pod_security_context(), "fsGroup": kube.fs_gid},
        "containers": [container],
        "volumes": [{"name": "archive", **kube.archive.source(read_only=False)}],
    }


POD_LABELS = {"app.kubernetes.io/name": INGEST, **PART_OF}


def ingest_cronjob(kube: KubernetesSettings) -> dict[str, Any]:
    """The admin ingest of new products, on a schedule."""
    ingest = kube.ingest
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(INGEST, kube),
        "spec": {
            "schedule": ingest.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 1,
                    "activeDeadlineSeconds": ingest.deadline_seconds,
                    "template": {
                        "metadata": {"labels": POD_LABELS},
                        "spec": _ingest_pod(kube, list(ingest.command)),
                    },
                }
            },
        },
    }


def backfill_job(kube: KubernetesSettings) -> dict[str, Any]:
    """An archive's first load as an indexed Job: pod i adds share i of N of the
    products (`sdl data add --share i/N`), each product atomically as ever. It is
    rendered suspended; `kubectl patch job sdl-backfill -p '{"spec":{"suspend":false}}'`
    starts it. A pod that fails is retried on its own index; the others go on."""
    fill = kube.backfill
    command = [
        "sh",
        "-c",
        'exec sdl data add --share "$JOB_COMPLETION_INDEX/$SHARES" "$@"',
        "sdl-backfill",
        *fill.paths,
    ]
    pod = _ingest_pod(kube, command)
    pod["containers"][0]["env"].append({"name": "SHARES", "value": str(fill.completions)})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(f"{INGEST}-backfill", kube),
        "spec": {
            "suspend": True,
            "completionMode": "Indexed",
            "completions": fill.completions,
            "parallelism": fill.parallelism,
            "backoffLimitPerIndex": 2,
            "maxFailedIndexes": fill.completions,
            "template": {"metadata": {"labels": POD_LABELS}, "spec": pod},
        },
    }


def platform_objects(kube: KubernetesSettings) -> list[dict[str, Any]]:
    """Every object shipped besides what KubeSpawner and the charts create."""
    return [
        database_ingress_policy(kube),
        dask_pod_ingress_policy(kube),
        dask_dashboard_route(kube),
        *secret_templates(kube),
        *ingest_rbac(kube),
        ingest_cronjob(kube),
        backfill_job(kube),
    ]
