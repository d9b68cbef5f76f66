"""The Sentinel-2 MSI band table: one place for names, resolutions and aliases.

The product definitions (products/*.yaml), the SAFE reader, the sample generator and
the notebook helpers all need the same facts; a test checks the YAML agrees with this.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """One measurement of a Sentinel-2 product."""

    name: str  # measurement name in the index, as ESA names the file (B04, SCL)
    resolution: int  # native ground sample distance, metres
    aliases: tuple[str, ...]
    dtype: str = "uint16"
    units: str = "1"
    wavelength: float | None = None  # centre, nanometres
    levels: tuple[str, ...] = ("L1C", "L2A")

    @property
    def common_name(self) -> str | None:
        return self.aliases[2] if len(self.aliases) > 2 else None


def _spectral(code: str, res: int, common: str, wavelength: float, *extra: str) -> Band:
    number = code[1:]
    return Band(
        code, res, (code.lower(), f"band_{number.lower()}", common, *extra), wavelength=wavelength
    )


BANDS: tuple[Band, ...] = (
    _spectral("B01", 60, "coastal", 442.7, "coastal_aerosol"),
    _spectral("B02", 10, "blue", 492.4),
    _spectral("B03", 10, "green", 559.8),
    _spectral("B04", 10, "red", 664.6),
    _spectral("B05", 20, "rededge1", 704.1, "red_edge_1"),
    _spectral("B06", 20, "rededge2", 740.5, "red_edge_2"),
    _spectral("B07", 20, "rededge3", 782.8, "red_edge_3"),
    _spectral("B08", 10, "nir", 832.8, "nir_1"),
    _spectral("B8A", 20, "nir08", 864.7, "narrow_nir", "nir_2"),
    _spectral("B09", 60, "nir09", 945.1),
    Band("B10", 60, ("b10", "band_10", "cirrus", "swir13"), wavelength=1373.5, levels=("L1C",)),
    _spectral("B11", 20, "swir16", 1613.7, "swir_1"),
    _spectral("B12", 20, "swir22", 2202.4, "swir_2"),
    Band("SCL", 20, ("scl", "scene_classification", "mask"), dtype="uint8", levels=("L2A",)),
    Band("AOT", 20, ("aot", "aerosol_optical_thickness"), levels=("L2A",)),
    Band("WVP", 20, ("wvp", "water_vapour_pressure", "water_vapor"), units="cm", levels=("L2A",)),
)

#: The 13 spectral bands in ESA's order (B01 ... B8A, B09 ... B12).
SPECTRAL: tuple[str, ...] = tuple(b.name for b in BANDS if b.wavelength)

#: Sen2Cor scene classification (SCL) values, as ESA documents them.
SCL_CLASSES: dict[int, str] = {
    0: "no_data",
    1: "saturated_or_defective",
    2: "dark_area_pixels",
    3: "cloud_shadows",
    4: "vegetation",
    5: "not_vegetated",
    6: "water",
    7: "unclassified",
    8: "cloud_medium_probability",
    9: "cloud_high_probability",
    10: "thin_cirrus",
    11: "snow",
}

#: SCL classes hidden by cloud masking: no data, defects, shadows, clouds, cirrus.
SCL_INVALID: tuple[int, ...] = (0, 1, 3, 8, 9, 10)

PRODUCTS = {"L1C": "s2_l1c", "L2A": "s2_l2a"}


def bands_for(level: str) -> tuple[Band, ...]:
    """The bands a product of this processing level has (L1C or L2A)."""
    return tuple(band for band in BANDS if level in band.levels)


def band_by_name(name: str, level: str) -> Band:
    """Look a band up by its measurement name or any alias (case-insensitive)."""
    wanted = name.lower()
    for band in bands_for(level):
        if wanted == band.name.lower() or wanted in band.aliases:
            return band
    raise KeyError(name)
