# The hub's configuration file: it only loads the settings and applies them.
# `sdl up` runs `jupyterhub -f` on this file with SDL_DATA_DIR set.
import os
from pathlib import Path

from hub.config import apply_all
from hub.config.context import HubContext, platform_secrets
from hub.runtime import read_runtime
from hub.settings import load_settings

_data_dir = Path(os.environ["SDL_DATA_DIR"])
_runtime = read_runtime(_data_dir)
_settings = load_settings(
    Path(_runtime.config_file) if _runtime.config_file else None,
    overrides={"data_dir": str(_data_dir)},
)
# `c` is the Config that JupyterHub's config loader puts in this file's namespace
apply_all(HubContext(_settings, _runtime, platform_secrets(_settings)), c)  # type: ignore[name-defined]
