"""The product definitions agree with the band table and say what researchers query by."""

from __future__ import annotations

import yaml

from hub.data.bands import SCL_CLASSES, band_by_name, bands_for
from hub.data.product_defs import PRODUCTS_DIR


def load(name: str) -> dict:
    return yaml.safe_load((PRODUCTS_DIR / f"{name}.yaml").read_text())


def test_yaml_matches_band_table() -> None:
    for level, name in (("L1C", "s2_l1c"), ("L2A", "s2_l2a")):
        doc = load(name)
        assert doc["metadata_type"] == "eo3_sdl"
        assert doc["metadata"]["properties"]["processing:level"] == level
        assert doc["metadata"]["properties"]["eo:constellation"] == "sentinel-2"
        measured = {m["name"]: m for m in doc["measurements"]}
        assert list(measured) == [b.name for b in bands_for(level)]
        for band in bands_for(level):
            m = measured[band.name]
            assert (m["dtype"], m["nodata"], m["units"]) == (band.dtype, 0, band.units)
            assert m["aliases"] == list(band.aliases)


def test_levels_differ_in_cirrus_and_scene_classification() -> None:
    l1c = {m["name"] for m in load("s2_l1c")["measurements"]}
    l2a = {m["name"]: m for m in load("s2_l2a")["measurements"]}
    assert "B10" in l1c and "B10" not in l2a
    assert {"SCL", "AOT", "WVP"} <= set(l2a) and not {"SCL", "AOT", "WVP"} & l1c
    assert l2a["SCL"]["dtype"] == "uint8"
    assert l2a["SCL"]["flags_definition"]["scl"]["values"] == SCL_CLASSES


def test_aliases_cover_esa_and_common_names() -> None:
    assert band_by_name("red", "L2A").name == "B04"
    assert band_by_name("B8A", "L2A").name == "B8A"
    assert band_by_name("nir08", "L1C").name == "B8A"
    assert band_by_name("swir16", "L2A").name == "B11"
    assert band_by_name("rededge1", "L2A").name == "B05"
    assert band_by_name("coastal", "L1C").name == "B01"
    assert band_by_name("cirrus", "L1C").name == "B10"
    for level in ("L1C", "L2A"):
        names = [a for b in bands_for(level) for a in (b.name.lower(), *b.aliases)]
        assert len(names) == len(set(names)) + len(bands_for(level))  # name.lower() == alias 0


def test_metadata_type_makes_mission_and_level_searchable() -> None:
    fields = yaml.safe_load((PRODUCTS_DIR / "eo3_sdl.yaml").read_text())["dataset"]["search_fields"]
    assert fields["mission"]["offset"] == ["properties", "eo:constellation"]
    assert fields["processing_level"]["offset"] == ["properties", "processing:level"]
    assert {"time", "lat", "lon", "platform", "region_code", "cloud_cover"} <= set(fields)
