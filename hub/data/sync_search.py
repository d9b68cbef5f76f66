"""The search half of `sdl data sync`: one STAC API, its collections, an AOI, a time window
and a cloud limit -> the items (as dicts), with 5xx retried and a 4xx reported."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import requests

from hub.errors import SdlError
from hub.settings import SyncSettings

DEFAULT_AOI = Path(__file__).parent / "aoi" / "sweden.geojson"
PAGE = 100


def search_items(opts: SyncSettings, backoff_s: float = 1.0) -> list[dict[str, Any]]:
    """Every item of `opts.collections` in the AOI and window, under the cloud limit."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO
    from urllib3.util.retry import Retry

    retry = Retry(
        total=opts.retries,
        backoff_factor=backoff_s,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST /search too: a search has no side effects
        raise_on_status=False,  # the last answer reaches pystac-client, which names it
    )
    where = opts.stac_url
    try:
        client = Client.open(
            opts.stac_url, stac_io=StacApiIO(max_retries=retry, timeout=opts.timeout_s)
        )
        for name in opts.collections:
            if client.get_collection(name) is None:
                known = ", ".join(sorted(c.id for c in client.get_collections()))
                raise SdlError(f"STAC API {where}: no collection {name!r} (it has: {known})")
        found = client.search(
            collections=opts.collections, datetime=window(opts), limit=PAGE, **area(opts)
        )
        items = list(found.items_as_dicts())
    except APIError as exc:
        status = f"HTTP {exc.status_code}" if exc.status_code else "error"
        raise SdlError(f"STAC API {where} answered {status}: {str(exc)[:500]}") from exc
    except requests.RequestException as exc:
        raise SdlError(f"STAC API {where} unreachable ({type(exc).__name__}: {exc})") from exc
    return [item for item in items if under_cloud_limit(item, opts.max_cloud)]


def window(opts: SyncSettings, today: dt.date | None = None) -> str:
    """since/until as a STAC datetime interval; no since: the last lookback_days."""
    since = opts.since or ((today or dt.date.today()) - dt.timedelta(days=opts.lookback_days))
    return f"{since}/{opts.until or '..'}"


def area(opts: SyncSettings) -> dict[str, Any]:
    """bbox when given, else the AOI's geometry (the shipped Sweden by default)."""
    if opts.bbox is not None:
        west, south, east, north = opts.bbox
        if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south < north <= 90):
            raise SdlError(f"bbox {opts.bbox}: use W,S,E,N in degrees, S < N")
        return {"bbox": list(opts.bbox)}
    return {"intersects": load_aoi(opts.aoi or DEFAULT_AOI)}


def load_aoi(path: Path) -> dict[str, Any]:
    """The geometry of a GeoJSON file (a FeatureCollection's features merged)."""
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    try:
        doc = json.loads(Path(path).read_text())
        if doc.get("type") == "FeatureCollection":
            shapes = [shape(f["geometry"]) for f in doc["features"]]
        elif doc.get("type") == "Feature":
            shapes = [shape(doc["geometry"])]
        else:
            shapes = [shape(doc)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SdlError(
            f"--aoi {path}: not a GeoJSON geometry, feature or collection ({exc})"
        ) from exc
    if not shapes:
        raise SdlError(f"--aoi {path}: no features")
    return mapping(unary_union(shapes))


def under_cloud_limit(item: dict[str, Any], max_cloud: float | None) -> bool:
    """Filtered here, as not every STAC API offers the filter extension (rustac does not);
    an item without eo:cloud_cover is kept."""
    cloud = (item.get("properties") or {}).get("eo:cloud_cover")
    return max_cloud is None or cloud is None or float(cloud) <= max_cloud
