"""The `kubernetes:` section of the settings document (used when mode is kubernetes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from hub.profiles import format_size, parse_size
from hub.settings.base import Strict

#: A Kubernetes object name (a DNS label: what namespaces, releases and secrets allow).
KubeName = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
#: A container image reference (registry/repository:tag or @digest).
ImageRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._/:@-]*$")]


def _quantity(value: Any) -> str:
    """A size checked like profile sizes, kept as a Kubernetes quantity ('10Gi', '20G')."""
    size = parse_size(value)
    return value.strip() if isinstance(value, str) else format_size(size)


class ArchiveVolume(Strict):
    """Where the shared satellite archive lives: an existing PVC or an NFS export."""

    type: Literal["pvc", "nfs"] = Field(
        "pvc", description="pvc: an existing PersistentVolumeClaim; nfs: an NFS export."
    )
    claim_name: KubeName = Field(
        "sdl-archive",
        description="Name of the archive's PVC (ReadOnlyMany/ReadWriteMany) when type is pvc.",
    )
    nfs_server: str = Field("", description="NFS server host name or address when type is nfs.")
    nfs_path: str = Field("/archive", description="Exported path on the NFS server.")

    @model_validator(mode="after")
    def _nfs_needs_server(self) -> ArchiveVolume:
        if self.type == "nfs" and not self.nfs_server:
            raise ValueError("archive.type is nfs but archive.nfs_server is empty; set the host")
        return self

    def source(self, read_only: bool) -> dict[str, Any]:
        """The Kubernetes volume source (without the volume's name)."""
        if self.type == "nfs":
            return {
                "nfs": {"server": self.nfs_server, "path": self.nfs_path, "readOnly": read_only}
            }
        return {"persistentVolumeClaim": {"claimName": self.claim_name, "readOnly": read_only}}


class IngestSettings(Strict):
    """The admin CronJob that adds data to the archive and the index."""

    schedule: str = Field("17 3 * * *", description="Cron schedule of the ingest job (UTC).")
    command: list[str] = Field(
        default_factory=lambda: ["sdl", "data", "add", "/srv/archive/incoming"],
        min_length=1,
        description="Command the ingest container runs; it alone holds write credentials.",
    )
    cpu: float = Field(2, gt=0, le=64, description="CPU guarantee and limit of the job.")
    memory: str = Field("8Gi", description="Memory guarantee and limit of the job.")
    deadline_seconds: int = Field(
        6 * 3600, ge=60, description="A run still going after this many seconds is stopped."
    )

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_quantity(cls, value: Any) -> str:
        return _quantity(value)


class BackfillSettings(Strict):
    """The first load of an archive: an indexed Job, each pod adding its share of it."""

    paths: list[str] = Field(
        default_factory=lambda: ["/srv/archive/sentinel-2"],
        min_length=1,
        description="What the backfill indexes (folders or globs inside the archive).",
    )
    completions: int = Field(
        16, ge=1, le=1000, description="Shares the archive is cut into (one pod each)."
    )
    parallelism: int = Field(4, ge=1, le=200, description="Pods running at once.")


class KubernetesSettings(Strict):
    """How the platform runs on Kubernetes (z2jh hub + KubeSpawner)."""

    namespace: KubeName = Field("sdl", description="Namespace of the hub and users.")
    release: KubeName = Field(
        "sdl",
        description="Helm release name of the z2jh chart (its pods' `release` label).",
    )
    hub_image: ImageRef = Field(
        "ghcr.io/space-data-lab/sdl-hub:0.1.0",
        description="Hub image: the z2jh hub image with this package installed.",
    )
    user_image: ImageRef = Field(
        "ghcr.io/space-data-lab/sdl-user:0.1.0",
        description="Default workspace image; also the Dask worker image.",
    )
    ingest_image: ImageRef = Field(
        "ghcr.io/space-data-lab/sdl-ingest:0.1.0",
        description="Image of the admin ingest CronJob.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Pull policy of workspace and ingest images."
    )
    storage_class: str | None = Field(
        None, description="StorageClass of home PVCs; empty uses the cluster's default class."
    )
    home_size: str = Field("10Gi", description="Size of each user's private home PVC.")
    home_mount_path: str = Field("/home/jovyan", description="Where the home PVC is mounted.")
    archive: ArchiveVolume = Field(
        default_factory=ArchiveVolume, description="The shared archive volume."
    )
    archive_mount_path: str = Field(
        "/home/jovyan/shared", description="Where every workspace sees the archive, read-only."
    )
    admin_archive_path: str = Field(
        "/home/jovyan/archive-admin",
        description="Where admins' workspaces also mount the archive writable; empty: never.",
    )
    odc_secret_name: KubeName = Field(
        "sdl-odc-readonly",
        description="Secret with the read-only ODC database URL given to every workspace.",
    )
    odc_secret_key: str = Field("url", description="Key of the URL inside odc_secret_name.")
    odc_admin_secret_name: KubeName = Field(
        "sdl-odc-admin",
        description="Secret with the writing ODC database URL; mounted by the ingest job only.",
    )
    odc_db_pod_labels: dict[str, str] = Field(
        default_factory=lambda: {"cnpg.io/cluster": "sdl-odc-db"},
        description="Labels of the PostgreSQL pods (for network policies).",
    )
    odc_db_port: int = Field(5432, ge=1, le=65535, description="PostgreSQL port.")
    gateway_address: str = Field(
        "http://proxy-public/services/dask-gateway",
        description="Dask Gateway API address as seen from workspaces.",
    )
    gateway_proxy_address: str = Field(
        "gateway://traefik-sdl-dask-gateway:80",
        description="Dask Gateway scheduler proxy (TLS by SNI) as seen from workspaces.",
    )
    gateway_release_fullname: KubeName = Field(
        "sdl-dask-gateway",
        description=(
            "Full name of the Dask Gateway chart's release (its `fullname`: the release name"
            " if it contains `dask-gateway`, else `<release>-dask-gateway`). The chart's"
            " objects are named from it (`api-<fullname>`, `traefik-<fullname>`, ...) and its"
            " pods and routes carry it as label `gateway.dask.org/instance`."
        ),
    )
    gateway_prefix: str = Field(
        "/services/dask-gateway",
        pattern=r"^(/[A-Za-z0-9._~-]+)+$",
        max_length=200,
        description=(
            "The Dask Gateway chart's `gateway.prefix` (no trailing slash): dashboards are"
            " served under `<prefix>/clusters/`."
        ),
    )
    templates_dir: str = Field(
        "/opt/sdl/templates", description="Templates folder in the user image (SDL_TEMPLATES_DIR)."
    )
    templates_configmap: str = Field(
        "", description="If set, a ConfigMap mounted over templates_dir instead of the image's."
    )
    uid: int = Field(1000, ge=1, description="User id of workspace processes (never root).")
    gid: int = Field(100, ge=0, description="Primary group id of workspace processes.")
    fs_gid: int = Field(100, ge=1, description="fsGroup: group owning mounted volumes.")
    private_ranges: list[str] = Field(
        default_factory=lambda: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        description="Private address ranges user pods may not reach (except named services).",
    )
    cloud_metadata_ip: str = Field(
        "169.254.169.254", description="Cloud metadata address blocked for user pods."
    )
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    backfill: BackfillSettings = Field(
        default_factory=BackfillSettings,
        description="The archive's first load: an indexed Job, rendered suspended.",
    )

    @field_validator("home_size", mode="before")
    @classmethod
    def _home_quantity(cls, value: Any) -> str:
        return _quantity(value)

    @field_validator("storage_class", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return value or None
