"""The template notebooks run top to bottom in a workspace, and show what they say.

Static checks (no platform): the repository keeps them numbered, explained and without
outputs. Executed checks: each notebook runs in a clean kernel on the user image's
package set (SDL_NOTEBOOK_PYTHON), in the environment of a real user's server on a real
platform with the sample cube; then its figures, variables (through a probe cell, see
runner.py) and widget models are checked.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from PIL import Image

from tests.notebooks.ai_checks import AI_CHECKS
from tests.notebooks.runner import TEMPLATES, Run, kernel_python, run_notebook

NOTEBOOKS = sorted(TEMPLATES.glob("*.ipynb"))
NAMES = [path.name for path in NOTEBOOKS]
L2A_DATASETS = 'dc.index.datasets.count(product="s2_l2a")'


# -- static: what the repository holds ----------------------------------------------------
def test_the_numbered_set_is_complete() -> None:
    numbers = [name[:2] for name in NAMES]
    assert numbers == [f"{n:02d}" for n in range(len(NAMES))], NAMES
    assert set(NAMES) == set(CHECKS), "every notebook needs its checks below"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_kept_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {cell.id} has outputs (clear them)"
            assert cell.execution_count is None, f"{path.name}: cell {cell.id} was executed"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_explained_between_steps(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(markdown) >= len(code) / 2, f"{path.name}: explain the steps in Markdown"
    assert not any("/tmp/" in c.source or "/work/" in c.source for c in nb.cells)


# -- executed: helpers -----------------------------------------------------------------------
def assert_figures(run: Run, at_least: int) -> None:
    """Non-empty PNGs: decodable, a real size, and not a blank canvas."""
    pngs = run.pngs()
    assert len(pngs) >= at_least, f"{run.name}: {len(pngs)} figures, expected {at_least}"
    for png in pngs:
        assert_picture(png, run.name)


def assert_picture(png: bytes, name: str) -> None:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.width >= 200 and image.height >= 150, name
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5, f"{name}: a figure is (almost) blank"
    assert len(np.unique(pixels)) > 20, f"{name}: a figure has hardly any content"


def no_probe_errors(run: Run) -> dict[str, Any]:
    failed = {k: v for k, v in run.probes.items() if isinstance(v, dict) and "probe_error" in v}
    assert not failed, f"{run.name}: probes failed: {failed}"
    return run.probes


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def between(values: Any, low: float, high: float) -> bool:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return values.size > 0 and bool(((values >= low) & (values <= high)).all())


# -- executed: per notebook, (probe expressions, check) ----------------------------------------
def check_00(run: Run, p: dict[str, Any]) -> None:
    assert "s2_l1c" in run.text() and "s2_l2a" in run.text()


def check_01(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 1)
    assert {"s2_l1c", "s2_l2a"} <= set(p["products"])  # and the other missions' products
    assert p["rows"] == p["l2a"] > 0
    assert p["first"] < p["last"]
    assert 0 < p["found"] < p["rows"]
    assert "QueryError: no s2_l2a datasets" in run.text()


def check_02(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 2)
    assert p["epsg"] == 3006 and p["resolution"] == [10.0, -10.0]
    assert p["bands"] == ["red", "green", "blue", "nir"]
    assert p["mixed"] == ["B04", "nir", "band_03"]
    assert "QueryError: s2_l2a has no band 'infrared'" in run.text()
    assert p["blue_l1c"] > p["blue_l2a"] > 0  # the atmosphere's path radiance at L1C
    assert between(p["rgb_range"], 0, 1)


def check_03(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 2)
    assert p["epsgs"] == [32634, 3006, 4326]
    assert p["pixels_10"] > p["pixels_20"] > p["pixels_60"] > 0
    assert p["resamplings"] == 9


def check_04(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 3)
    assert between(p["cloud_fraction"], 0, 1) and max(p["cloud_fraction"]) > 0.3
    assert 0 < p["masked_share"] < 1
    assert p["composite_gaps"] < 0.05
    assert p["composite_epsg"] == 3006
    assert between(p["composite_range"], 0, 1)


def check_05(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 2)
    assert between(p["ndvi_range"], -1, 1) and p["ndvi_range"][1] > 0.5
    assert p["rows"] == p["l2a"]
    assert p["tiles"] == 3
    assert between(p["medians"], 0.2, 1)


def check_06(run: Run, p: dict[str, Any]) -> None:
    # the kernel's objects
    assert p["features"] == p["datasets"] == p["l2a"]
    assert "footprints" in p["layer_names"]
    assert p["drawn"]["time"] > 0 and p["drawn_epsg"] == 3006
    # the widget models saved for the frontend (what JupyterLab would render)
    state = run.widget_state()
    by_name: dict[str, list[dict[str, Any]]] = {}
    for model_id, model in state.items():
        by_name.setdefault(model["model_name"], []).append({"id": model_id, **model["state"]})
    (geojson,) = by_name["LeafletGeoJSONModel"]
    assert geojson["name"] == "footprints"
    assert len(geojson["data"]["features"]) == p["l2a"]
    for feature in geojson["data"]["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        lon, lat = np.asarray(feature["geometry"]["coordinates"][0]).T
        assert between(lon, 10, 25) and between(lat, 55, 70)  # lon/lat over Sweden
    (leaflet_map,) = by_name["LeafletMapModel"]
    assert f"IPY_MODEL_{geojson['id']}" in leaflet_map["layers"]
    assert by_name["LeafletDrawControlModel"][0]["rectangle"]
    assert f"IPY_MODEL_{by_name['LeafletDrawControlModel'][0]['id']}" in leaflet_map["controls"]
    # the drawn box's figure went into the Output widget
    (output,) = by_name["OutputModel"]
    pngs = [o["data"]["image/png"] for o in output["outputs"] if "image/png" in o.get("data", {})]
    assert len(pngs) == 1
    import base64

    assert_picture(base64.b64decode(pngs[0]), run.name)


def check_07(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 2)
    assert p["valid"] == [True, True]
    assert all(area > 1 for area in p["areas_ha"])  # hectares
    assert p["lake"] < 0 < 0.5 < p["forest"]
    assert all(clear <= pixels for clear, pixels in p["clear_vs_pixels"])


def check_08(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 1)
    assert "/services/dask-gateway/clusters/" in p["dashboard_link"]
    assert p["dashboard_link"].startswith("http")
    assert p["workers"] == 2
    assert between(p["series"], 0.2, 1) and len(p["series"]) == 4
    assert "clusters still running: 0" in run.text()


def check_09(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 1)
    assert p["netcdf_equal"] is True and p["netcdf_epsg"] == 3006
    assert p["cog_equal"] is True and p["cog_epsg"] == 3006
    assert p["cog_tiled"] is True and p["cog_bands"] == 5
    assert p["files"] == [True, True]


def check_10(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 1)
    assert run.text().count("not answered yet") == 4
    assert "✗" not in run.text()


def check_11(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 2)
    assert p["passes"] == 6  # the sample's Luleå passes
    calm, windy = max(p["water_share"]), min(p["water_share"])
    assert 0.1 < calm < 0.6 and windy < calm / 2  # wind-roughened lakes look like land
    assert 0.1 < p["season_water"] < 0.6
    assert "none of them clouded" in run.text()


def check_12(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 1)
    assert p["same_grid"] is True
    assert p["agreement"] > 0.8


def check_13(run: Run, p: dict[str, Any]) -> None:
    assert_figures(run, 2)
    assert p["days"] == 6 and p["epsg"] == 3006  # the sample's daily WFR series, regridded
    assert p["peak_day"] == 4  # the bloom of the sample's chlorophyll
    clear = p["clear_share"]  # the sample's cloudy days (3rd, 6th) hide half the lake
    assert max(clear[2], clear[5]) < 0.6 < 0.9 < min(clear[0], clear[1], clear[3], clear[4])
    assert "the bloom peaks on 2026-07-05" in run.text()


CHECKS: dict[str, tuple[dict[str, str], Callable[[Run, dict[str, Any]], None]]] = {
    "00-welcome.ipynb": ({}, check_00),
    "01-getting-started.ipynb": (
        {
            "products": "list(products.index)",
            "rows": "len(catalogue)",
            "l2a": L2A_DATASETS,
            "first": "str(first)",
            "last": "str(last)",
            "found": "len(found)",
        },
        check_01,
    ),
    "02-loading-sentinel-2.ipynb": (
        {
            "epsg": "ds.odc.crs.epsg",
            "resolution": "[ds.odc.geobox.resolution.x, ds.odc.geobox.resolution.y]",
            "bands": "list(ds.data_vars)",
            "mixed": "list(mixed.data_vars)",
            "blue_l1c": "float(mean_reflectance.loc['blue', 'L1C'])",
            "blue_l2a": "float(mean_reflectance.loc['blue', 'L2A'])",
            "rgb_range": "[float(rgb.min()), float(rgb.max())]",
        },
        check_02,
    ),
    "03-coordinate-systems.ipynb": (
        {
            "epsgs": "[d.odc.crs.epsg for d in loaded.values()]",
            "pixels_10": "int(costs[costs['resolution (m)'] == 10].pixels.iloc[0])",
            "pixels_20": "int(costs[costs['resolution (m)'] == 20].pixels.iloc[0])",
            "pixels_60": "int(costs[costs['resolution (m)'] == 60].pixels.iloc[0])",
            "resamplings": "len(costs)",
        },
        check_03,
    ),
    "04-clouds.ipynb": (
        {
            "cloud_fraction": "[float(v) for v in cloud_fraction.values]",
            "masked_share": "float(masked.red.isnull().mean())",
            "composite_gaps": "composite_gaps",
            "composite_epsg": "composite.odc.crs.epsg",
            "composite_range": "[float(composite.to_array().min()), "
            "float(composite.to_array().max())]",
        },
        check_04,
    ),
    "05-vegetation.ipynb": (
        {
            "ndvi_range": "[float(ndvi.min()), float(ndvi.max())]",
            "rows": "len(season)",
            "l2a": L2A_DATASETS,
            "tiles": "season.tile.nunique()",
            "medians": "[float(v) for v in season.median_ndvi]",
        },
        check_05,
    ),
    "06-interactive-map.ipynb": (
        {
            "features": "len(footprint_layer.data['features'])",
            "datasets": "len(datasets)",
            "l2a": L2A_DATASETS,
            "layer_names": "[layer.name for layer in m.layers]",
            "drawn": "dict(drawn.sizes)",
            "drawn_epsg": "drawn.odc.crs.epsg",
        },
        check_06,
    ),
    "07-vector-meets-raster.ipynb": (
        {
            "valid": "[p.is_valid for p in zones.values()]",
            "areas_ha": "[float(a) for a in areas]",
            "lake": "float(zone_means['lake'])",
            "forest": "float(zone_means['forest stand'])",
            "clear_vs_pixels": "stats[['clear_pixels', 'pixels']].values.tolist()",
        },
        check_07,
    ),
    "08-scaling-out.ipynb": (
        {
            "dashboard_link": "dashboard_link",
            "workers": "workers",
            "series": "[float(v) for v in series.values]",
        },
        check_08,
    ),
    "09-exporting.ipynb": (
        {
            "netcdf_equal": "bool(netcdf_equal)",
            "netcdf_epsg": "netcdf_epsg",
            "cog_equal": "bool(cog_equal)",
            "cog_epsg": "cog_epsg",
            "cog_tiled": "bool(cog_profile['tiled'])",
            "cog_bands": "cog_profile['bands']",
            "files": "[nc_path.exists(), all(p.exists() for p in cog_paths)]",
        },
        check_09,
    ),
    "10-workshop-starter.ipynb": ({}, check_10),
    "11-sentinel-1-backscatter.ipynb": (
        {
            "passes": "int(s1.sizes['time'])",
            "water_share": "[float(v) for v in water_share]",
            "season_water": "float(season_water.mean())",
        },
        check_11,
    ),
    "12-sentinel-1-and-2.ipynb": (
        {"same_grid": "bool(same_grid)", "agreement": "float(agreement)"},
        check_12,
    ),
    "13-sentinel-3-olci.ipynb": (
        {
            "days": "int(wfr.sizes['time'])",
            "epsg": "wfr.odc.crs.epsg",
            "peak_day": "int(np.nanargmax(series.values))",
            "clear_share": "[float(v) for v in clear_share.values]",
        },
        check_13,
    ),
}
CHECKS.update(AI_CHECKS)  # 14-16, AI on the archive


def kernel_can_write_netcdf() -> bool:
    script = "import xarray, numpy; xarray.Dataset({'a': ('x', numpy.ones(2))}).to_netcdf()"
    return subprocess.run([kernel_python(), "-c", script], capture_output=True).returncode == 0


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_shows_results(name: str, server_env: dict[str, str]) -> None:
    if name.startswith("08"):
        assert "DASK_GATEWAY__ADDRESS" in server_env, "workspaces must find the Dask Gateway"
    if name.startswith("09"):
        assert kernel_can_write_netcdf(), f"{kernel_python()} has no NetCDF engine (h5netcdf)"
    probes, check = CHECKS[name]
    run = run_notebook(TEMPLATES / name, server_env, probes=probes)
    assert run.error is None, f"{name} failed:\n{strip_ansi(run.error)}"
    check(run, no_probe_errors(run))


SOLUTION = re.compile(r"<summary>Solution</summary>\s*```python\n(.*?)```", re.S)


def test_workshop_solutions_pass_their_checks(server_env: dict[str, str]) -> None:
    """Each task's hidden solution, put in place of its blank, makes its check say ✓."""
    nb = nbformat.read(TEMPLATES / "10-workshop-starter.ipynb", as_version=4)
    nb.metadata["sdl_name"] = "10-workshop-solved.ipynb"
    solutions = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            solutions += SOLUTION.findall(cell.source)
        elif "# your code here" in cell.source:
            lines = cell.source.splitlines()
            blank = next(i for i, line in enumerate(lines) if "# your code here" in line)
            lines[blank] = solutions[-1].rstrip()
            cell.source = "\n".join(lines)
    assert len(solutions) == 4
    run = run_notebook(nb, server_env)
    assert run.error is None, strip_ansi(run.error)
    assert [line for line in run.text().splitlines() if line.startswith(("✓", "✗", "☐"))] == [
        f"✓ task {n}: well done" for n in range(1, 5)
    ]
    assert_figures(run, 2)
