"""Pure builders for the Kubernetes objects the platform ships besides user pods.

Network policies around the ODC database, the admin ingest CronJob with its
ServiceAccount/Role/RoleBinding, and templates of the two database Secrets. Only the
ingest job ever sees the writing credentials.
"""

from __future__ import annotations

from typing import Any

from hub.kube.builders import container_security_context, pod_security_context
from hub.kube.settings import KubernetesSettings

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


def _meta(name: str, kube: KubernetesSettings, **extra: Any) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name, **PART_OF, **extra.pop("labels", {})}
    return {"name": name, "namespace": kube.namespace, "labels": labels, **extra}


def singleuser_egress(kube: KubernetesSettings) -> list[dict[str, Any]]:
    """Egress rules added to z2jh's singleuser NetworkPolicy (`singleuser.networkPolicy.egress`).

    z2jh already allows DNS and non-private addresses and blocks private ranges and the
    cloud metadata server; these open exactly the ODC database and the Dask Gateway.
    """
    return [
        {
            "to": [{"podSelector": {"matchLabels": dict(kube.odc_db_pod_labels)}}],
            "ports": [{"port": kube.odc_db_port, "protocol": "TCP"}],
        },
        {"to": [{"podSelector": {"matchLabels": dict(kube.gateway_pod_labels)}}]},
    ]


def database_ingress_policy(kube: KubernetesSettings) -> dict[str, Any]:
    """Only workspaces, Dask pods, the ingest job, the other instances and the operator."""
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
                        {"podSelector": {"matchExpressions": [dict(DASK_POD_EXPRESSION)]}},
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": INGEST}}},
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


def ingest_cronjob(kube: KubernetesSettings) -> dict[str, Any]:
    """The admin ingest: writing database role, archive writable at /srv/archive."""
    ingest = kube.ingest
    resources = {"cpu": f"{ingest.cpu:g}", "memory": ingest.memory}
    security = {**container_security_context(), "runAsUser": kube.uid, "runAsGroup": kube.gid}
    pod_labels = {"app.kubernetes.io/name": INGEST, **PART_OF}
    container = {
        "name": "ingest",
        "image": kube.ingest_image,
        "imagePullPolicy": kube.image_pull_policy,
        "command": list(ingest.command),
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
    pod_spec = {
        "serviceAccountName": INGEST,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": {**pod_security_context(), "fsGroup": kube.fs_gid},
        "containers": [container],
        "volumes": [{"name": "archive", **kube.archive.source(read_only=False)}],
    }
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
                    "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
                }
            },
        },
    }


def platform_objects(kube: KubernetesSettings) -> list[dict[str, Any]]:
    """Every object shipped besides what KubeSpawner and the charts create."""
    return [
        database_ingress_policy(kube),
        *secret_templates(kube),
        *ingest_rbac(kube),
        ingest_cronjob(kube),
    ]
