"""The `dask:` section of the settings document."""

from __future__ import annotations

from pydantic import Field, model_validator

from hub.settings.base import ListenPort, Strict


class DaskWorkerSettings(Strict):
    """What one worker gets unless the user asks otherwise, and the most it may ask for."""

    cores: int = Field(1, ge=1, le=256, description="Cores of a worker when none are asked for.")
    max_cores: int = Field(4, ge=1, le=256, description="Most cores one worker may ask for.")
    memory_gib: float = Field(
        2, gt=0, le=4096, description="Memory (GiB) of a worker when none is asked for."
    )
    max_memory_gib: float = Field(
        8, gt=0, le=4096, description="Most memory (GiB) one worker may ask for."
    )

    @model_validator(mode="after")
    def _defaults_within_bounds(self) -> DaskWorkerSettings:
        if self.cores > self.max_cores:
            raise ValueError(f"cores ({self.cores}) is above max_cores ({self.max_cores})")
        if self.memory_gib > self.max_memory_gib:
            raise ValueError(
                f"memory_gib ({self.memory_gib}) is above max_memory_gib ({self.max_memory_gib})"
            )
        return self


class DaskUserLimits(Strict):
    """Totals across ALL of one user's clusters (upstream only limits single clusters).

    Used for every user until the quota service provides per-user values.
    """

    cores: float = Field(8, gt=0, description="Worker cores a user may hold across clusters.")
    memory_gib: float = Field(
        32, gt=0, description="Worker memory (GiB) a user may hold across clusters."
    )
    workers: int = Field(8, ge=0, description="Workers a user may hold across clusters.")
    clusters: int = Field(2, ge=0, description="Clusters a user may run at once (0: none).")


class DaskSettings(Strict):
    enabled: bool = Field(
        True, description="Run Dask Gateway beside the hub and point every workspace at it."
    )
    port: ListenPort = Field(
        0,
        description="Port of the gateway's HTTP proxy (API and dashboards, behind the hub at "
        "/services/dask-gateway); 0 picks a free one at start-up.",
    )
    tcp_port: ListenPort = Field(
        0,
        description="Port of the gateway's TLS proxy for scheduler traffic (it cannot pass the "
        "hub's HTTP proxy); 0 picks a free one at start-up.",
    )
    idle_timeout: int = Field(
        1800, ge=0, description="Stop a cluster idle this many seconds (0: never)."
    )
    stop_with_server: bool = Field(
        True, description="Stop a user's clusters when their workspace server stops or is culled."
    )
    worker: DaskWorkerSettings = Field(
        default_factory=DaskWorkerSettings, description="Worker defaults and per-worker bounds."
    )
    user_limits: DaskUserLimits = Field(
        default_factory=DaskUserLimits,
        description="Default per-user totals across clusters (until per-user quotas exist).",
    )
