"""Space Data Lab: a multi-tenant JupyterHub distribution for Earth-observation research."""

__version__ = "0.1.0"
