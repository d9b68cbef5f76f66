"""Every Kubernetes object the platform ships besides user pods, and the database Secrets.

Network policies and the Dask dashboard route (`hub.kube.network`), the admin ingest's
account, CronJob and backfill Job (`hub.kube.ingest`), and here templates of the two
database Secrets. Only the ingest job ever sees the writing credentials.
"""

from __future__ import annotations

from typing import Any

from hub.kube.ingest import backfill_job, ingest_cronjob, ingest_rbac
from hub.kube.naming import object_meta
from hub.kube.network import dask_dashboard_route, dask_pod_ingress_policy, database_ingress_policy
from hub.settings import KubernetesSettings


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
            "metadata": object_meta(
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
