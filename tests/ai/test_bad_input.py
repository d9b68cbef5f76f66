"""Bad input to hub.ai, each with a clear error (or, for another CRS, one warning)."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.affinity import translate

from hub import ai
from hub.ai.labels import LabelCRSWarning

LON, LAT = (22.10, 22.16), (65.575, 65.60)
ONE_DATE = ("2026-07-20", "2026-07-31")


@pytest.fixture
def bundled() -> gpd.GeoDataFrame:
    return gpd.read_file(ai.bundled_labels("lulea"))


def test_labels_in_another_crs_are_reprojected_and_said_once(
    dc, bundled: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    utm = tmp_path / "lulea-utm34.gpkg"
    bundled.to_crs("EPSG:32634").to_file(utm, driver="GPKG")
    labels = ai.read_labels(utm)
    assert labels.frame.crs.to_epsg() == 32634
    with pytest.warns(LabelCRSWarning, match="is in EPSG:32634; reprojected to EPSG:3006"):
        first = ai.chips(labels, time=ONE_DATE, lon=LON, lat=LAT, size=16, dc=dc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelCRSWarning)  # said once: not again
        second = ai.chips(labels, time=ONE_DATE, lon=LON, lat=LAT, size=16, dc=dc)
    np.testing.assert_array_equal(first.label_raster, second.label_raster)
    # the same polygons in lon/lat land on (almost) the same pixels: edges are straight
    # in each CRS, so a few pixels along them differ
    lonlat = ai.chips(
        ai.read_labels(ai.bundled_labels()), time=ONE_DATE, lon=LON, lat=LAT, size=16, dc=dc
    )
    labelled = (first.label_raster != ai.IGNORE) | (lonlat.label_raster != ai.IGNORE)
    same = first.label_raster[labelled] == lonlat.label_raster[labelled]
    assert same.mean() > 0.97


def test_labels_outside_the_data(dc, bundled: gpd.GeoDataFrame) -> None:
    far = bundled.copy()
    far.geometry = far.geometry.apply(lambda g: translate(g, xoff=3.0))  # 3 degrees east
    with pytest.raises(ai.LabelError, match="lies outside the data: no s2_l2a datasets"):
        ai.chips(ai.read_labels(far), time=ONE_DATE, size=16, dc=dc)
    # data exist where asked, but the labels are elsewhere
    with pytest.raises(ai.LabelError, match=r"lies outside the data: labels span lon 25\.1"):
        ai.chips(ai.read_labels(far), time=ONE_DATE, lon=LON, lat=LAT, size=16, dc=dc)


def test_an_empty_class(dc, bundled: gpd.GeoDataFrame) -> None:
    with pytest.raises(ai.LabelError, match="class 'bare ground' has no polygons; it has: "):
        ai.read_labels(bundled, classes=["water", "forest", "open land", "bare ground"])
    # a class whose only polygon is smaller than a pixel covers nothing on the grid
    tiny = bundled.copy()
    centre = bundled.geometry.iloc[0].centroid
    tiny.loc[len(tiny)] = {"id": 99, "class": "bare ground", "geometry": centre.buffer(1e-6)}
    with pytest.raises(ai.LabelError, match="class 'bare ground' covers no pixel"):
        ai.chips(ai.read_labels(tiny), time=ONE_DATE, lon=LON, lat=LAT, size=16, dc=dc)


def test_labels_without_the_class_field_or_polygons(bundled: gpd.GeoDataFrame) -> None:
    with pytest.raises(ai.LabelError, match="has no field 'landcover'; its fields are: id, class"):
        ai.read_labels(bundled, class_field="landcover")
    points = bundled.copy()
    points.geometry = points.geometry.representative_point()
    with pytest.raises(ai.LabelError, match="labels must be polygons, found Point"):
        ai.read_labels(points)
    with pytest.raises(ai.LabelError, match="no such labels file"):
        ai.read_labels("/nonexistent/labels.gpkg")


def test_a_chip_larger_than_the_area(dc) -> None:
    labels = ai.read_labels(ai.bundled_labels())
    small = {"lon": (22.12, 22.13), "lat": (65.58, 65.585)}  # about 45 x 55 px
    with pytest.raises(ai.ChipError, match=r"chip size 64 px \(640 m\) is larger than the area"):
        ai.chips(labels, time=ONE_DATE, size=64, dc=dc, **small)


def test_one_chip_position_cannot_be_split_by_tile(dc) -> None:
    water = shapely.box(22.140, 65.570, 22.146, 65.573)  # inside polygon 1 (water)
    one = gpd.GeoDataFrame({"class": ["water"]}, geometry=[water], crs="EPSG:4326")
    data = ai.chips(
        ai.read_labels(one),
        time=ONE_DATE,
        lon=(22.136, 22.156),
        lat=(65.568, 65.575),
        size=64,
        dc=dc,
    )
    assert {(i.row, i.col) for i in data.items} == {(0, 0)}
    with pytest.raises(ai.ChipError, match="a tile split needs two"):
        ai.split_by_tile(data)
