"""The scheduled `sdl data sync` on Kubernetes: CronJob `sdl-data-sync`.

Rendered only when `sync.schedule` is set (the same cron line `sdl up`'s runner reads,
hub.data.sync_schedule). Its pod is the ingest pod (hub.kube.ingest): the ingest
image, the writing database role, the archive PVC writable at /srv/archive (only the
ingest pods mount it writable), no API token. It reads the `sync:` section from the
settings document every pod reads, ConfigMap `sdl-settings` (helm-values/README.md,
step 2), mounted read-only with SDL_CONFIG naming it; the provider's credentials, where
it needs them (SDL_SYNC_TOKEN, S3 keys), from the optional Secret `sdl-sync-credentials`.
One run at a time (`concurrencyPolicy: Forbid`), as on one machine.
"""

from __future__ import annotations

from typing import Any

from hub.kube.ingest import POD_LABELS, ingest_pod
from hub.kube.naming import object_meta
from hub.settings import CONFIG_ENV, Settings

NAME = "sdl-data-sync"
#: The ConfigMap holding the settings document (key settings.yaml), as the gateway reads it.
SETTINGS_CONFIGMAP = "sdl-settings"
SETTINGS_DIR = "/etc/sdl"
SETTINGS_FILE = f"{SETTINGS_DIR}/settings.yaml"
COMMAND = ["sdl", "data", "sync"]
#: An optional Secret with the provider's credentials (SDL_SYNC_TOKEN, AWS_* keys).
CREDENTIALS_SECRET = "sdl-sync-credentials"


def sync_cronjob(settings: Settings) -> dict[str, Any] | None:
    """The CronJob, or None when `sync.schedule` is unset (no scheduled sync)."""
    schedule = settings.sync.schedule
    if not schedule:
        return None
    kube = settings.kubernetes
    pod = ingest_pod(kube, list(COMMAND))
    (container,) = pod["containers"]
    container["env"].append({"name": CONFIG_ENV, "value": SETTINGS_FILE})
    # the provider's credentials, if the lab made the Secret: SDL_SYNC_TOKEN (CDSE's
    # downloads), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (s3:// assets)
    container["envFrom"] = [{"secretRef": {"name": CREDENTIALS_SECRET, "optional": True}}]
    container["volumeMounts"].append(
        {"name": "settings", "mountPath": SETTINGS_DIR, "readOnly": True}
    )
    pod["volumes"].append(
        {
            "name": "settings",
            "configMap": {
                "name": SETTINGS_CONFIGMAP,
                "items": [{"key": "settings.yaml", "path": "settings.yaml"}],
            },
        }
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": object_meta(NAME, kube, labels={"app.kubernetes.io/component": "sync"}),
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",  # the schedule is UTC everywhere (settings reference)
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,  # a run missed by more than an hour waits
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 1,  # sync retries requests itself; a rerun resumes
                    "activeDeadlineSeconds": kube.ingest.deadline_seconds,
                    "template": {
                        "metadata": {
                            "labels": {**POD_LABELS, "app.kubernetes.io/component": "sync"}
                        },
                        "spec": pod,
                    },
                }
            },
        },
    }


def sync_objects(settings: Settings) -> list[dict[str, Any]]:
    """What `sdl render` writes for the sync: the CronJob when scheduled, else nothing."""
    job = sync_cronjob(settings)
    return [] if job is None else [job]
