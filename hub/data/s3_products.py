"""The Sentinel-3 product table: which ESA product becomes which index product, read
by which satpy reader, with which bands (and the product's quality flags as a band).

One place for these facts: the regridding (`s3_regrid`), the product definitions
(`products/s3_*.yaml`, written by `product_definition`; a test checks they agree) and
the sample (`sample_s3`) all read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: OLCI L1 quality flags: bit 25 is "invalid" (satpy's L1B_QUALITY_FLAGS, ESA's PDFS).
OLCI_L1_INVALID = 1 << 25
#: OLCI L2 water flags (WQSF): bit 0 is INVALID; satpy takes it as the fill value.
OLCI_WQSF_INVALID = 1


@dataclass(frozen=True)
class S3Band:
    """One measurement: the satpy dataset it comes from and the file that holds it."""

    name: str  # measurement name in the index
    sources: tuple[tuple[str, str], ...]  # (satpy dataset, file); the first present is used
    units: str
    aliases: tuple[str, ...] = ()
    dtype: str = "float32"
    nodata: float | int = float("nan")
    calibration: str | None = None  # olci_l1b: radiance; olci_l2: reflectance
    flags: bool = False  # a bit field: resampled by nearest neighbour, kept exact

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(file for _, file in self.sources)


@dataclass(frozen=True)
class S3Product:
    """An ESA product type and the index product it becomes."""

    name: str  # index product: s3_olci_l1_efr
    product_type: str  # ESA: OL_1_EFR
    instrument: str
    level: str  # L1, L2
    reader: str  # satpy reader
    resolution: int  # default target resolution, metres
    geolocation: str  # the file with the swath's latitude/longitude
    latlon: tuple[str, str]  # satpy datasets of latitude and longitude
    bands: tuple[S3Band, ...]
    description: str

    @property
    def flags_band(self) -> S3Band:
        return next(band for band in self.bands if band.flags)


# Centre wavelengths (nm) of the 21 OLCI bands, from the products' own manifests.
OLCI_WAVELENGTHS = {
    "Oa01": 400.0,
    "Oa02": 412.5,
    "Oa03": 442.5,
    "Oa04": 490.0,
    "Oa05": 510.0,
    "Oa06": 560.0,
    "Oa07": 620.0,
    "Oa08": 665.0,
    "Oa09": 673.75,
    "Oa10": 681.25,
    "Oa11": 708.75,
    "Oa12": 753.75,
    "Oa13": 761.25,
    "Oa14": 764.375,
    "Oa15": 767.5,
    "Oa16": 778.75,
    "Oa17": 865.0,
    "Oa18": 885.0,
    "Oa19": 900.0,
    "Oa20": 940.0,
    "Oa21": 1020.0,
}
COMMON = {"Oa03": "coastal", "Oa04": "blue", "Oa06": "green", "Oa08": "red", "Oa17": "nir"}
WFR_REFLECTANCE = tuple(f"Oa{n:02d}" for n in (*range(1, 13), 16, 17, 18, 21))


def _olci_band(code: str, kind: str, units: str) -> S3Band:
    common = (COMMON[code],) if code in COMMON else ()
    return S3Band(
        code,
        ((code, f"{code}_{kind}.nc"),),
        units,
        (code.lower(), *common),
        calibration=kind,
    )


def _geophysical(name: str, file: str, units: str, *aliases: str, source: str = "") -> S3Band:
    return S3Band(name, ((source or name, file),), units, aliases)


def _flags(
    name: str, file: str, dtype: str, nodata: int, *, source: str = "", alias: str = "quality_flags"
) -> S3Band:
    """The product's quality flags as a band (one per product): unitless bits."""
    return S3Band(
        name,
        ((source or name, file),),
        "1",
        ("flags", alias),
        dtype=dtype,
        nodata=nodata,
        flags=True,
    )


def _olci(
    name: str, product_type: str, level: str, reader: str, bands: tuple[S3Band, ...], what: str
) -> S3Product:
    """An OLCI product: full resolution (300 m), geolocated by geo_coordinates.nc."""
    return S3Product(
        name,
        product_type,
        "OLCI",
        level,
        reader,
        300,
        "geo_coordinates.nc",
        ("latitude", "longitude"),
        bands,
        f"Sentinel-3 OLCI {what}, full resolution, regridded from the swath at ingest",
    )


EFR = _olci(
    "s3_olci_l1_efr",
    "OL_1_EFR",
    "L1",
    "olci_l1b",
    (
        *(_olci_band(code, "radiance", "W m-2 sr-1 um-1") for code in OLCI_WAVELENGTHS),
        _flags("quality_flags", "qualityFlags.nc", "uint32", OLCI_L1_INVALID, alias="qualityflags"),
    ),
    "Level-1 EFR: top-of-atmosphere radiance",
)
WFR = _olci(
    "s3_olci_l2_wfr",
    "OL_2_WFR",
    "L2",
    "olci_l2",
    (
        *(_olci_band(code, "reflectance", "1") for code in WFR_REFLECTANCE),
        # log10 values, as ESA stores them; present in every collection (002 to 004)
        _geophysical("chl_nn", "chl_nn.nc", "lg(re mg.m-3)", "chlorophyll"),
        _geophysical("tsm_nn", "tsm_nn.nc", "lg(re g.m-3)", "tsm"),
        _geophysical("iop_nn", "iop_nn.nc", "lg(re m-1)", "adg443"),
        _geophysical("kd490", "trsp.nc", "lg(re m-1)", "trsp", source="trsp"),
        _geophysical("t865", "w_aer.nc", "1", "aerosol_optical_thickness", source="w_aer"),
        _flags("wqsf", "wqsf.nc", "uint64", OLCI_WQSF_INVALID),
    ),
    "Level-2 WFR: water-leaving reflectance and water quality",
)
LFR = _olci(
    "s3_olci_l2_lfr",
    "OL_2_LFR",
    "L2",
    "olci_l2",
    (
        _geophysical("otci", "otci.nc", "1", "terrestrial_chlorophyll_index"),
        _geophysical("iwv", "iwv.nc", "kg.m-2", "water_vapour"),
        # collection 002 calls it OGVI (ogvi.nc), later ones GIFAPAR (gifapar.nc)
        S3Band("gifapar", (("gifapar", "gifapar.nc"), ("ogvi", "ogvi.nc")), "1", ("fapar",)),
        _flags("lqsf", "lqsf.nc", "uint32", 2**32 - 1),
    ),
    "Level-2 LFR: land products (OTCI, FAPAR, water vapour)",
)
LST = S3Product(
    "s3_slstr_l2_lst",
    "SL_2_LST",
    "SLSTR",
    "L2",
    "slstr_lst",
    1000,
    "geodetic_in.nc",
    ("latitude_in", "longitude_in"),
    (
        _geophysical("lst", "LST_in.nc", "K", "land_surface_temperature", source="LST"),
        _geophysical("lst_uncertainty", "LST_in.nc", "K", source="LST_uncertainty"),
        _flags("confidence", "flags_in.nc", "uint16", 2**16 - 1, source="confidence_in"),
    ),
    "Sentinel-3 SLSTR Level-2 LST: land surface temperature at 1 km, regridded from the "
    "swath at ingest",
)
PRODUCTS: dict[str, S3Product] = {p.product_type: p for p in (EFR, LFR, WFR, LST)}
BY_NAME: dict[str, S3Product] = {p.name: p for p in PRODUCTS.values()}


def product_for(product_type: str, where: str) -> S3Product:
    from hub.data.eo3 import ProductError

    if product_type not in PRODUCTS:
        raise ProductError(
            f"{where}: Sentinel-3 product type {product_type} is not one this lab indexes; "
            f"it takes {', '.join(PRODUCTS)}"
        )
    return PRODUCTS[product_type]


def flag_meanings(product: S3Product) -> list[str]:
    """Names of the flag bits, bit 0 first, as satpy's OLCI reader knows them."""
    from satpy.readers.olci_nc import L1B_QUALITY_FLAGS, WQSF_FLAG_LIST

    return {"OL_1_EFR": list(L1B_QUALITY_FLAGS), "OL_2_WFR": list(WQSF_FLAG_LIST)}.get(
        product.product_type, []
    )


def product_definition(product: S3Product) -> dict[str, Any]:
    """The ODC product definition (what products/<name>.yaml holds)."""
    measurements = []
    for band in product.bands:
        entry: dict[str, Any] = {
            "name": band.name,
            "dtype": band.dtype,
            "nodata": "NaN" if band.nodata != band.nodata else band.nodata,
            "units": band.units,
        }
        if band.aliases:
            entry["aliases"] = list(band.aliases)
        meanings = flag_meanings(product) if band.flags else []
        if meanings:
            entry["flags_definition"] = {
                name.replace("@", "_").replace("-", "_").lower(): {
                    "bits": bit,
                    "values": {0: False, 1: True},
                    "description": f"{product.product_type} flag {name}",
                }
                for bit, name in enumerate(meanings)
            }
        measurements.append(entry)
    return {
        "name": product.name,
        "description": product.description,
        "license": "proprietary",  # the Copernicus Sentinel data licence (free, open)
        "metadata_type": "eo3_sdl",
        "metadata": {
            "product": {"name": product.name},
            "properties": {
                "eo:constellation": "sentinel-3",
                "eo:instrument": product.instrument,
                "processing:level": product.level,
            },
        },
        "load": {
            "crs": "EPSG:3006",
            "resolution": {"x": product.resolution, "y": -product.resolution},
        },
        "measurements": measurements,
    }
