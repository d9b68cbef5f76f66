"""The archive's status map on a real `sdl up` (hub, proxy, PostgreSQL, the sample cube)."""

from __future__ import annotations

import requests

from hub.data import sample
from tests.archive.conftest import SERVICE, TILES
from tests.support.platform import HubClient, RunningPlatform


def test_a_user_gets_the_page_from_the_services_menu(
    platform: RunningPlatform, rita: HubClient
) -> None:
    home = rita.session.get(f"{platform.url}/hub/home", timeout=30)
    assert home.status_code == 200 and SERVICE in home.text  # the Services menu
    page = rita.session.get(f"{platform.url}{SERVICE}", timeout=60)  # OAuth round trip
    assert page.status_code == 200, page.text[:500]
    assert page.url == f"{platform.url}{SERVICE}"
    for tile in TILES:
        assert f"id='tile-{tile}'" in page.text
    assert "every 10 days" in page.text and "relative orbit" in page.text
    assert f"{SERVICE}static/leaflet.js" in page.text and "cdn" not in page.text.lower()
    leaflet = rita.session.get(f"{platform.url}{SERVICE}static/leaflet.js", timeout=30)
    assert leaflet.status_code == 200 and "Leaflet 1.9.4" in leaflet.text[:200]
    outline = rita.session.get(f"{platform.url}{SERVICE}static/nordic.geojson", timeout=30)
    assert {f["properties"]["name"] for f in outline.json()["features"]} >= {"Sweden", "Norway"}
    # the time range control is a plain GET form: the page shows only that range
    august = rita.session.get(
        f"{platform.url}{SERVICE}", params={"from": "2026-08-01", "to": "2026-08-31"}, timeout=60
    )
    assert "value='2026-08-01'" in august.text
    assert "data-api='/services/archive/api/tiles?from=2026-08-01&amp;to=2026-08-31'" in august.text
    bad = rita.session.get(f"{platform.url}{SERVICE}", params={"from": "soon"}, timeout=60)
    assert bad.status_code == 400 and "is not a date" in bad.text


def test_the_json_api_filters_by_time(platform: RunningPlatform, rita: HubClient) -> None:
    everything = rita.session.get(f"{platform.url}{SERVICE}api/tiles", timeout=60)
    assert everything.status_code == 200
    assert everything.headers["Content-Type"].startswith("application/json")
    document = everything.json()
    assert document["type"] == "FeatureCollection" and document["products"] == 20
    assert sorted(f["id"] for f in document["features"]) == TILES
    for feature in document["features"]:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert len(feature["properties"]["next_passes"]) == 4
    august = rita.session.get(
        f"{platform.url}{SERVICE}api/tiles", params={"from": "2026-08-01", "to": "2026-08-31"}
    ).json()
    days = sorted(day for _, day, _, _ in sample.ACQUISITIONS if day.startswith("2026-08"))
    assert august["products"] == 2 * len(days) and (august["from"], august["to"]) == (
        "2026-08-01",
        "2026-08-31",
    )
    assert sorted(f["properties"]["latest"][:10] for f in august["features"]) == days
    wrong = rita.session.get(
        f"{platform.url}{SERVICE}api/tiles", params={"from": "2026-09-01", "to": "2026-08-01"}
    )
    assert wrong.status_code == 400 and "after" in wrong.json()["message"]
    # a notebook (or script) with the user's hub token gets the same
    token = rita.new_token("rita")
    by_token = requests.get(
        f"{platform.url}{SERVICE}api/tiles",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert by_token.status_code == 200 and by_token.json()["products"] == 20


def test_anonymous_requests_are_sent_to_login(platform: RunningPlatform) -> None:
    page = requests.get(f"{platform.url}{SERVICE}", timeout=60)  # follows the redirects
    assert page.url.startswith(f"{platform.url}/hub/login"), page.url
    first = requests.get(f"{platform.url}{SERVICE}", timeout=60, allow_redirects=False)
    assert first.status_code == 302 and "/hub/api/oauth2/authorize" in first.headers["Location"]
    api = requests.get(f"{platform.url}{SERVICE}api/tiles", timeout=60, allow_redirects=False)
    assert api.status_code == 403 and "features" not in api.text
    forged = requests.get(
        f"{platform.url}{SERVICE}api/tiles", headers={"Authorization": "token nope"}, timeout=60
    )
    assert forged.status_code == 403
