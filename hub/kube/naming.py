"""Names, labels and ports of the objects the platform ships and of the charts' own.

Names and labels of the dask-gateway chart's objects follow its `_helpers.tpl` (chart
2026.3.0), the hub pod's those of z2jh; the gateway and its Dask pods live in
`kube.namespace`, like the hub. Network policies, routes and the hub's config all name
the charts' objects through here, so a chart upgrade changes one place.
"""

from __future__ import annotations

from typing import Any

from hub.settings import KubernetesSettings

#: The admin ingest job's name: its ServiceAccount, Role, pods and what lets them in.
INGEST = "sdl-ingest"
PART_OF = {"app.kubernetes.io/part-of": "space-data-lab"}
#: The gateway API service's port (the chart's `api-<fullname>`).
GATEWAY_API_PORT = 8000


def object_meta(name: str, kube: KubernetesSettings, **extra: Any) -> dict[str, Any]:
    """metadata of a shipped object: its name, the namespace, the platform's labels."""
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
