"""The XML files of a Sentinel-1 GRD SAFE product, laid out as ESA's (IPF 3.x) are.

Only what a product of the sample needs, element for element as in real products
(`tests/data/real/sentinel-1/`): the manifest with its dataObjectSection (size and MD5
of every file), the product annotation with its geolocation grid, and the calibration
and noise annotations with their vectors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _t(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass(frozen=True)
class Header:
    """Whose annotations these are: one polarisation of one acquisition."""

    platform: str  # S1A, S1C
    pol: str  # VV, VH
    start: dt.datetime
    stop: dt.datetime

    def ads(self, absolute: int) -> str:
        """The adsHeader every annotation starts with (calibration and noise: orbit 0)."""
        return (
            f"<adsHeader><missionId>{self.platform}</missionId><productType>GRD</productType>"
            f"<polarisation>{self.pol}</polarisation><mode>IW</mode><swath>IW</swath>"
            f"<startTime>{_t(self.start)}</startTime><stopTime>{_t(self.stop)}</stopTime>"
            f"<absoluteOrbitNumber>{absolute}</absoluteOrbitNumber>"
            f"<missionDataTakeId>1</missionDataTakeId><imageNumber>001</imageNumber></adsHeader>"
        )


def _list(values: np.ndarray | Sequence[float], fmt: str = "{:.6e}") -> str:
    return " ".join(fmt.format(v) for v in values)


def _vector_start(header: Header, lines: list[int], line: int, pixels: list[int]) -> str:
    """A LUT vector's azimuth time, line and pixels: calibration and noise alike."""
    step = (header.stop - header.start) / max(lines[-1], 1)
    return (
        f"<azimuthTime>{_t(header.start + step * line)}</azimuthTime>"
        f'<line>{line}</line><pixel count="{len(pixels)}">{_list(pixels, "{}")}</pixel>'
    )


def annotation_xml(
    header: Header,
    *,
    absolute: int,
    lines: int,
    samples: int,
    spacing: float,
    gcps: list[tuple[float, ...]],
    orbit_state: str,
) -> str:
    start, stop = header.start, header.stop
    step = (stop - start) / max(lines - 1, 1)
    points = "".join(
        f"<geolocationGridPoint><azimuthTime>{_t(start + step * line)}</azimuthTime>"
        f"<slantRangeTime>{5.3e-3 + pixel * 6.7e-8:.9e}</slantRangeTime>"
        f"<line>{int(line)}</line><pixel>{int(pixel)}</pixel>"
        f"<latitude>{lat:.15e}</latitude><longitude>{lon:.15e}</longitude>"
        f"<height>{height:.6e}</height><incidenceAngle>{30.5 + 15 * pixel / samples:.6e}"
        f"</incidenceAngle><elevationAngle>{27.0 + 13 * pixel / samples:.6e}</elevationAngle>"
        "</geolocationGridPoint>"
        for line, pixel, lon, lat, height in gcps
    )
    return (
        f"{HEADER}<product>{header.ads(absolute)}"
        f"<generalAnnotation><productInformation><pass>{orbit_state.capitalize()}</pass>"
        "<timelinessCategory>Fast-24h</timelinessCategory><platformHeading>"
        f"{-12.0 if orbit_state == 'ascending' else -168.0:.6e}</platformHeading>"
        "<projection>Ground Range</projection></productInformation></generalAnnotation>"
        "<imageAnnotation><imageInformation>"
        f"<productFirstLineUtcTime>{_t(start)}</productFirstLineUtcTime>"
        f"<productLastLineUtcTime>{_t(stop)}</productLastLineUtcTime>"
        "<pixelValue>Detected</pixelValue><outputPixels>16 bit Unsigned Integer</outputPixels>"
        f"<rangePixelSpacing>{spacing:.6e}</rangePixelSpacing>"
        f"<azimuthPixelSpacing>{spacing:.6e}</azimuthPixelSpacing>"
        f"<numberOfSamples>{samples}</numberOfSamples><numberOfLines>{lines}</numberOfLines>"
        "</imageInformation></imageAnnotation>"
        f'<geolocationGrid><geolocationGridPointList count="{len(gcps)}">{points}'
        "</geolocationGridPointList></geolocationGrid></product>\n"
    )


def calibration_xml(
    header: Header,
    *,
    lines: list[int],
    pixels: list[int],
    sigma: Callable[[np.ndarray], np.ndarray],
) -> str:
    values = sigma(np.array(pixels, dtype=np.float64))
    vectors = "".join(
        f"<calibrationVector>{_vector_start(header, lines, line, pixels)}"
        f'<sigmaNought count="{len(pixels)}">{_list(values)}</sigmaNought>'
        f'<betaNought count="{len(pixels)}">{_list(np.full_like(values, 4.737e2))}</betaNought>'
        f'<gamma count="{len(pixels)}">{_list(values * 0.95)}</gamma>'
        f'<dn count="{len(pixels)}">{_list(np.full_like(values, 4.737e2))}</dn>'
        "</calibrationVector>"
        for line in lines
    )
    return (
        f"{HEADER}<calibration>{header.ads(0)}"
        "<calibrationInformation><absoluteCalibrationConstant>1.000000e+00"
        "</absoluteCalibrationConstant></calibrationInformation>"
        f'<calibrationVectorList count="{len(lines)}">{vectors}</calibrationVectorList>'
        "</calibration>\n"
    )


def noise_xml(
    header: Header,
    *,
    lines: list[int],
    pixels: list[int],
    noise: Callable[[np.ndarray], np.ndarray],
    size: tuple[int, int],
) -> str:
    values = noise(np.array(pixels, dtype=np.float64))
    ranges = "".join(
        f"<noiseRangeVector>{_vector_start(header, lines, line, pixels)}"
        f'<noiseRangeLut count="{len(pixels)}">{_list(values)}</noiseRangeLut>'
        "</noiseRangeVector>"
        for line in lines
    )
    az_lines = [*list(range(0, size[0], 10)), size[0] - 1]
    az_values = 1.0 + 0.02 * np.sin(np.array(az_lines) / 50.0)
    azimuth = (
        "<noiseAzimuthVector><swath>IW1</swath><firstAzimuthLine>0</firstAzimuthLine>"
        f"<firstRangeSample>0</firstRangeSample><lastAzimuthLine>{size[0] - 1}"
        f"</lastAzimuthLine><lastRangeSample>{size[1] - 1}</lastRangeSample>"
        f'<line count="{len(az_lines)}">{_list(az_lines, "{}")}</line>'
        f'<noiseAzimuthLut count="{len(az_lines)}">{_list(az_values)}</noiseAzimuthLut>'
        "</noiseAzimuthVector>"
    )
    return (
        f"{HEADER}<noise>{header.ads(0)}"
        f'<noiseRangeVectorList count="{len(lines)}">{ranges}</noiseRangeVectorList>'
        f'<noiseAzimuthVectorList count="1">{azimuth}</noiseAzimuthVectorList></noise>\n'
    )


def manifest_xml(
    *,
    platform: str,
    start: dt.datetime,
    stop: dt.datetime,
    absolute: int,
    relative: int,
    orbit_state: str,
    ipf: str,
    files: dict[str, bytes],
    footprint: list[tuple[float, ...]],
) -> str:
    pols = sorted({path.split("-")[3].upper() for path in files if path.startswith("measurement/")})

    def mime(path: str) -> str:
        return "application/octet-stream" if path.endswith(".tiff") else "text/xml"

    objects = "".join(
        f'<dataObject ID="{escape(path.replace("/", "_").replace(".", "_"))}" '
        f'repID="s1Level1{"Measurement" if path.endswith(".tiff") else "Product"}Schema">'
        f'<byteStream mimeType="{mime(path)}"'
        f' size="{len(data)}"><fileLocation locatorType="URL" href="./{escape(path)}"/>'
        f'<checksum checksumName="MD5">{hashlib.md5(data).hexdigest()}</checksum>'
        "</byteStream></dataObject>"
        for path, data in sorted(files.items())
    )
    processed = stop + dt.timedelta(hours=2)
    corners = " ".join(f"{lat:.6f},{lon:.6f}" for _, _, lon, lat, _ in footprint)
    polarisations = "".join(
        f"<s1sarl1:transmitterReceiverPolarisation>{p}</s1sarl1:transmitterReceiverPolarisation>"
        for p in sorted(pols, key=lambda p: p != "VV")
    )
    return (
        f'{HEADER}<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" '
        'xmlns:safe="http://www.esa.int/safe/sentinel-1.0" '
        'xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1" '
        'xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" '
        'xmlns:gml="http://www.opengis.net/gml" version="esa/safe/sentinel-1.0/sentinel-1/sar/'
        'level-1/standard/iwgrdh">'
        '<informationPackageMap><xfdu:contentUnit unitType="SAFE Archive Information Package" '
        'textInfo="Sentinel-1 IW Level-1 GRD Product"/></informationPackageMap><metadataSection>'
        '<metadataObject ID="processing" classification="PROVENANCE" category="PDI"><metadataWrap>'
        f'<xmlData><safe:processing name="GRD Post Processing" start="{_t(stop)}" '
        f'stop="{_t(processed)}"><safe:facility country="Germany" name="Copernicus S1 Core '
        'Ground Segment - DPA" organisation="ESA" site="DLR-Oberpfaffenhofen">'
        f'<safe:software name="Sentinel-1 IPF" version="{ipf}"/></safe:facility>'
        "</safe:processing></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="platform" classification="DESCRIPTION" category="DMD"><metadataWrap>'
        "<xmlData><safe:platform><safe:familyName>SENTINEL-1</safe:familyName>"
        f"<safe:number>{platform[-1]}</safe:number><safe:instrument><safe:familyName "
        'abbreviation="SAR">Synthetic Aperture Radar</safe:familyName><safe:extension>'
        "<s1sarl1:instrumentMode><s1sarl1:mode>IW</s1sarl1:mode><s1sarl1:swath>IW</s1sarl1:swath>"
        "</s1sarl1:instrumentMode></safe:extension></safe:instrument></safe:platform></xmlData>"
        "</metadataWrap></metadataObject>"
        '<metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" '
        'category="DMD"><metadataWrap><xmlData><safe:orbitReference>'
        f'<safe:orbitNumber type="start">{absolute}</safe:orbitNumber>'
        f'<safe:orbitNumber type="stop">{absolute}</safe:orbitNumber>'
        f'<safe:relativeOrbitNumber type="start">{relative}</safe:relativeOrbitNumber>'
        f'<safe:relativeOrbitNumber type="stop">{relative}</safe:relativeOrbitNumber>'
        "<safe:extension><s1:orbitProperties>"
        f"<s1:pass>{orbit_state.upper()}</s1:pass></s1:orbitProperties></safe:extension>"
        "</safe:orbitReference></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="generalProductInformation" classification="DESCRIPTION" '
        'category="DMD"><metadataWrap><xmlData><s1sarl1:standAloneProductInformation>'
        f"{polarisations}<s1sarl1:productClass>S</s1sarl1:productClass>"
        "<s1sarl1:productType>GRD</s1sarl1:productType>"
        "<s1sarl1:productTimelinessCategory>Fast-24h</s1sarl1:productTimelinessCategory>"
        "</s1sarl1:standAloneProductInformation></xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD">'
        f"<metadataWrap><xmlData><safe:acquisitionPeriod><safe:startTime>{_t(start)}"
        f"</safe:startTime><safe:stopTime>{_t(stop)}</safe:stopTime></safe:acquisitionPeriod>"
        "</xmlData></metadataWrap></metadataObject>"
        '<metadataObject ID="measurementFrameSet" classification="DESCRIPTION" category="DMD">'
        "<metadataWrap><xmlData><safe:frameSet><safe:frame><safe:footPrint "
        'srsName="http://www.opengis.net/gml/srs/epsg.xml#4326">'
        f"<gml:coordinates>{corners}</gml:coordinates></safe:footPrint></safe:frame>"
        "</safe:frameSet></xmlData></metadataWrap></metadataObject>"
        f"</metadataSection><dataObjectSection>{objects}</dataObjectSection></xfdu:XFDU>\n"
    )
