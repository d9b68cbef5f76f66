"""The admin ingest on Kubernetes: its account, its pod, the CronJob and the backfill Job.

Only these pods get the writing database role (through `secretKeyRef`, never an API
token) and mount the archive writable; the scheduled `sdl data sync` (hub.kube.sync_job)
runs in the same pod.
"""

from __future__ import annotations

from typing import Any

from hub.kube.builders import container_security_context, pod_security_context
from hub.kube.naming import INGEST, PART_OF, object_meta
from hub.settings import KubernetesSettings

#: Labels of every ingest pod (CronJob, backfill, sync), which the database policy lets in.
POD_LABELS = {"app.kubernetes.io/name": INGEST, **PART_OF}


def ingest_rbac(kube: KubernetesSettings) -> list[dict[str, Any]]:
    """A ServiceAccount of its own; the Role names the one Secret it may read.

    The job's pod gets no API token (the Secret reaches it through `secretKeyRef`), so the
    Role mainly documents, for `kubectl auth can-i` reviews, who may read that Secret.
    """
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": object_meta(INGEST, kube),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": object_meta(INGEST, kube),
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
            "metadata": object_meta(INGEST, kube),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": INGEST},
            "subjects": [{"kind": "ServiceAccount", "name": INGEST, "namespace": kube.namespace}],
        },
    ]


def ingest_pod(kube: KubernetesSettings, command: list[str]) -> dict[str, Any]:
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


def ingest_cronjob(kube: KubernetesSettings) -> dict[str, Any]:
    """The admin ingest of new products, on a schedule."""
    ingest = kube.ingest
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": object_meta(INGEST, kube),
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
                        "spec": ingest_pod(kube, list(ingest.command)),
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
    pod = ingest_pod(kube, command)
    pod["containers"][0]["env"].append({"name": "SHARES", "value": str(fill.completions)})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": object_meta(f"{INGEST}-backfill", kube),
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
