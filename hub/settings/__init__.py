"""The one settings document that describes a Space Data Lab platform.

One module per section (all on `hub.settings.base.Strict`), the root model in
`document`, loading in `loader`; `settings_from_environment` is how every process
finds its settings. Import the public names from here.
"""

from hub.paths import default_data_dir
from hub.settings.auth import MIN_ADMIN_PASSWORD, MIN_USER_PASSWORD, AuthSettings, OidcSettings
from hub.settings.base import Strict
from hub.settings.dask import DaskSettings, DaskUserLimits, DaskWorkerSettings
from hub.settings.data import CDSE_S2_COLLECTIONS, CDSE_STAC_URL, DataSettings, SyncSettings
from hub.settings.database import DatabaseSettings
from hub.settings.document import Settings
from hub.settings.environment import CONFIG_ENV, CONFIG_TEXT_ENV, settings_from_environment
from hub.settings.hub import HubSettings
from hub.settings.kubernetes import (
    ArchiveVolume,
    BackfillSettings,
    IngestSettings,
    KubernetesSettings,
)
from hub.settings.loader import (
    ENV_OVERRIDES,
    deep_merge,
    env_overrides,
    load_settings,
    load_settings_text,
    settings_from_dict,
)
from hub.settings.quotas import QuotaSettings
from hub.settings.sentinel1 import Sentinel1Grid
from hub.settings.sentinel3 import Sentinel3Grid
from hub.settings.templates import TemplateSettings

__all__ = [
    "CDSE_S2_COLLECTIONS",
    "CDSE_STAC_URL",
    "CONFIG_ENV",
    "CONFIG_TEXT_ENV",
    "ENV_OVERRIDES",
    "MIN_ADMIN_PASSWORD",
    "MIN_USER_PASSWORD",
    "ArchiveVolume",
    "AuthSettings",
    "BackfillSettings",
    "DaskSettings",
    "DaskUserLimits",
    "DaskWorkerSettings",
    "DataSettings",
    "DatabaseSettings",
    "HubSettings",
    "IngestSettings",
    "KubernetesSettings",
    "OidcSettings",
    "QuotaSettings",
    "Sentinel1Grid",
    "Sentinel3Grid",
    "Settings",
    "Strict",
    "SyncSettings",
    "TemplateSettings",
    "deep_merge",
    "default_data_dir",
    "env_overrides",
    "load_settings",
    "load_settings_text",
    "settings_from_dict",
    "settings_from_environment",
]
