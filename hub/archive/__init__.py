"""The archive's status map: which MGRS tiles the index holds, and when each is passed next.

`hub.archive.status` computes it from the Open Data Cube index (one function for the
hub service and for `eo.coverage_map` in notebooks); `hub.archive.service` serves it at
/services/archive/ with a Leaflet page drawn from the vendored `static/leaflet.js`.
"""

from pathlib import Path

SERVICE_NAME = "archive"
#: The vendored Leaflet and the Nordic outline (see static/README.md).
STATIC = Path(__file__).parent / "static"
#: The index's URL where the service does not use the platform's own: the Kubernetes hub
#: pod's read-only login (hub.config.archive hands it over).
INDEX_URL_ENV = "SDL_ARCHIVE_INDEX_URL"
