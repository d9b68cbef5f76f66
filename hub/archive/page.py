"""The status map's HTML: a table rendered on the server, the map drawn by Leaflet.

The table is the same data as the map, so the page says everything without JavaScript;
the script fetches the tiles as GeoJSON from `api/tiles` with the page's own range and
draws them on the bundled Nordic outline (web tiles only when a tile URL is configured).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hub.service.html import e, page_shell

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem 2rem;color:#222}
nav a{margin-right:1rem}#map{height:34rem;max-width:72rem;border:1px solid #bbb;
background:#dde8f0}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.note{color:#555;max-width:72rem}.bad{color:#a00;font-weight:bold}form{margin:.8rem 0}
.legend{display:inline-block;width:.9rem;height:.9rem;vertical-align:middle;margin:0 .3rem}
.leaflet-tooltip.tile-label{background:#fffc;border:0;box-shadow:none}
.tile-label .next{color:#1a7f37;font-weight:bold}
"""

SCRIPT = """
(function () {
  const box = document.getElementById('map');
  // no fade: a popup is whole at once (and in a screenshot)
  const map = L.map(box, {zoomSnap: 0.25, attributionControl: false, fadeAnimation: false});
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, {maxZoom: 18}).addTo(map);
  }
  const when = (iso) => iso.slice(0, 10);
  const sat = (name) => name.replace('sentinel-', 'S').toUpperCase();
  Promise.all([
    fetch(box.dataset.outline).then((r) => r.json()),
    // a script's request on the hub login cookie must carry the XSRF token (JupyterHub)
    fetch(box.dataset.api, {credentials: 'same-origin', headers: {'X-XSRFToken': box.dataset.xsrf}})
      .then((r) => r.json()),
  ]).then(([outline, tiles]) => {
    const land = L.geoJSON(outline, {
      style: {color: '#888', weight: 1, fillColor: '#f4f1ea', fillOpacity: 1},
      interactive: false,
    }).addTo(map);
    const held = L.geoJSON(tiles, {
      style: {color: '#b08a00', weight: 2, fillColor: '#ffd400', fillOpacity: 0.55},
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        const next = p.next_passes.map((n) => when(n.time) + ' ' + sat(n.platform)
          + ' R' + String(n.relative_orbit).padStart(3, '0'));
        layer.bindPopup('<b>' + p.tile + '</b><br>' + p.products + ' products ('
          + Object.entries(p.levels).map(([k, v]) => v + ' ' + k).join(', ') + ')<br>'
          + when(p.first) + ' to ' + when(p.latest) + '<br>cloud cover: mean '
          + p.cloud_mean + ' %, last ' + p.cloud_last + ' %<br>'
          + '<span style="color:#1a7f37">next: ' + (next.join('<br>') || 'unknown') + '</span>');
        layer.bindTooltip('<b>' + p.tile + '</b>' + (next.length
          ? ' <span class="next">next ' + next[0].slice(0, 10) + '</span>' : ''),
          {permanent: true, direction: 'right', offset: [10, 0], className: 'tile-label'});
      },
    }).addTo(map);
    // no closer than zoom 8: the country stays in view around small footprints
    const bounds = (held.getLayers().length ? held : land).getBounds();
    map.fitBounds(bounds, {padding: [40, 40], maxZoom: 8});
    box.dataset.ready = String(held.getLayers().length);
  }).catch((error) => {
    box.textContent = 'The map could not be loaded: ' + error;
  });
})();
"""


def satellite(name: str) -> str:
    """sentinel-2b -> S2B"""
    return name.replace("sentinel-", "S").upper()


def status_page(
    status: dict[str, Any],
    prefix: str,
    hub_home: str,
    xsrf: str,
    tile_url: str = "",
    error: str = "",
) -> str:
    query = {k: status[k] for k in ("from", "to") if status.get(k)}
    api = f"{prefix}api/tiles" + (f"?{urlencode(query)}" if query else "")
    rows = "".join(_row(feature["properties"]) for feature in status["features"])
    table = (
        "<table id='tiles'><tr><th>Tile</th><th>Products</th><th>First</th><th>Latest</th>"
        "<th>Cloud cover mean / last</th><th>Satellites</th><th>Relative orbits</th>"
        f"<th>Expected next passes</th></tr>{rows}</table>"
        if rows
        else "<p id='tiles'>No products in this time range.</p>"
    )
    body = (
        (f"<p class='bad'>{e(error)}</p>" if error else "")
        + f"<form method='get' action='{e(prefix)}'>"
        f"<label>From <input type='date' name='from' value='{e(status.get('from'))}'></label> "
        f"<label>to <input type='date' name='to' value='{e(status.get('to'))}'></label> "
        "<button type='submit'>Show</button> "
        f"<a href='{e(prefix)}'>all dates</a></form>"
        f"<p><span class='legend' style='background:#ffd400'></span>{len(status['features'])} "
        f"tiles, {status['products']} products held"
        f"<span class='legend' style='background:#1a7f37'></span>expected next passes "
        f"(after {e(status['now'][:16].replace('T', ' '))} UTC)</p>"
        f"<div id='map' data-api='{e(api)}' data-outline='{e(prefix)}static/nordic.geojson'"
        f" data-tiles='{e(tile_url)}' data-xsrf='{e(xsrf)}'></div>"
        f"<p class='note' id='assumption'>{e(status['assumption'])}</p>"
        f"{table}"
        f"<script src='{e(prefix)}static/leaflet.js'></script><script>{SCRIPT}</script>"
    )
    return page_shell(
        "Archive status",
        body,
        style=STYLE,
        nav=[(hub_home, "Hub home")],
        heading="The archive's Sentinel-2 tiles",
        head=f"<link rel='stylesheet' href='{e(prefix)}static/leaflet.css'>",
    )


def _row(p: dict[str, Any]) -> str:
    levels = ", ".join(f"{n} {level}" for level, n in p["levels"].items())
    clouds = f"{_percent(p['cloud_mean'])} / {_percent(p['cloud_last'])}"
    passes = "<br>".join(
        f"{e(n['time'][:16].replace('T', ' '))} {e(satellite(n['platform']))} "
        f"R{int(n['relative_orbit']):03d}"
        for n in p["next_passes"]
    )
    return (
        f"<tr id='tile-{e(p['tile'])}'><td>{e(p['tile'])}</td>"
        f"<td>{p['products']} ({e(levels)})</td><td>{e(p['first'][:10])}</td>"
        f"<td>{e(p['latest'][:10])}</td><td>{e(clouds)}</td>"
        f"<td>{e(', '.join(satellite(s) for s in p['platforms']))}</td>"
        f"<td>{e(', '.join(str(o) for o in p['relative_orbits']))}</td>"
        f"<td class='next'>{passes or 'unknown (no relative orbit)'}</td></tr>"
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"
