"""ESA SAFE metadata (MTD_MSIL1C/2A.xml, MTD_TL.xml) as the sample writes it.

As in ESA's products, the granule folder (`L2A_T34WFS_A031970_...`) is not the
`granuleIdentifier` (`S2B_OPER_MSI_L2A_TL_2APS_..._N05.11`): the reader must take paths
from IMAGE_FILE, and the sample would show it if it did not.

Only the elements real products carry and `safe.py` reads, in ESA's layout (PSD 14.9),
so the reader is exercised on the same structure it meets in downloads.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hub.data.bands import BANDS, SCL_CLASSES, SPECTRAL

if TYPE_CHECKING:
    from hub.data.sample import Names

PSD = "https://psd-14.sentinel2.eo.esa.int/PSD"


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def product_xml(
    names: Names,
    level: str,
    platform: str,
    files: list[str],
    ring: list[tuple[float, float]],
    cloud_cover: float,
    baseline: str,
    offset: int,
    orbit: int,
) -> str:
    """The product-level MTD_MSIL1C.xml / MTD_MSIL2A.xml."""
    root = f"Level-{level[1:]}_User_Product"
    product_type = "S2MSI1C" if level == "L1C" else "S2MSI2A"
    image_files = "\n".join(f"            <IMAGE_FILE>{f}</IMAGE_FILE>" for f in files)
    positions = " ".join(f"{lat} {lon}" for lat, lon in ring)
    if level == "L1C":
        quantification = '<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>'
        offsets = "".join(
            f'<RADIO_ADD_OFFSET band_id="{i}">-{offset}</RADIO_ADD_OFFSET>'
            for i in range(len(SPECTRAL))
        )
        offsets = f"<Radiometric_Offset_List>{offsets}</Radiometric_Offset_List>"
        quality = ""
    else:
        quantification = (
            "<QUANTIFICATION_VALUES_LIST>"
            '<BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>'
            '<AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>'
            '<WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>'
            "</QUANTIFICATION_VALUES_LIST>"
        )
        offsets = "".join(
            f'<BOA_ADD_OFFSET band_id="{i}">-{offset}</BOA_ADD_OFFSET>'
            for i in range(len(SPECTRAL))
        )
        offsets = f"<BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>"
        classes = "".join(
            f"<SCL_{name.upper()}>{code}</SCL_{name.upper()}>" for code, name in SCL_CLASSES.items()
        )
        quality = f"<Scene_Classification_List>{classes}</Scene_Classification_List>"
    band_list = "".join(
        f'<Spectral_Information bandId="{i}" physicalBand="{b}"/>'
        for i, b in enumerate(SPECTRAL)
        if any(band.name == b for band in BANDS)
    )
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="{PSD}/User_Product_Level-{level[1:]}.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{_time(names.sensing)}</PRODUCT_START_TIME>
      <PRODUCT_STOP_TIME>{_time(names.sensing)}</PRODUCT_STOP_TIME>
      <PRODUCT_URI>{names.safe}</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-{level[1:]}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>{product_type}</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <GENERATION_TIME>{_time(names.generated)}</GENERATION_TIME>
      <Datatake datatakeIdentifier="G{platform}_{names.sensing:%Y%m%dT%H%M%S}_N{baseline}">
        <SPACECRAFT_NAME>Sentinel-{platform[1:]}</SPACECRAFT_NAME>
        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
        <DATATAKE_SENSING_START>{_time(names.sensing)}</DATATAKE_SENSING_START>
        <SENSING_ORBIT_NUMBER>{orbit}</SENSING_ORBIT_NUMBER>
        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
      </Datatake>
      <Product_Organisation>
        <Granule_List>
          <Granule datastripIdentifier="{names.datastrip_id}" granuleIdentifier="{names.granule_id}" imageFormat="JPEG2000">
{image_files}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      {quantification}
      {offsets}
      <Spectral_Information_List>{band_list}</Spectral_Information_List>
      {quality}
    </Product_Image_Characteristics>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Product_Footprint>
      <Product_Footprint><Global_Footprint><EXT_POS_LIST>{positions}</EXT_POS_LIST></Global_Footprint></Product_Footprint>
      <RASTER_CS_TYPE>POINT</RASTER_CS_TYPE>
      <PIXEL_ORIGIN>1</PIXEL_ORIGIN>
    </Product_Footprint>
    <Coordinate_Reference_System><GEO_TABLES version="1">EPSG</GEO_TABLES><HORIZONTAL_CS_TYPE>GEOGRAPHIC</HORIZONTAL_CS_TYPE></Coordinate_Reference_System>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info>
    <Cloud_Coverage_Assessment>{cloud_cover}</Cloud_Coverage_Assessment>
  </n1:Quality_Indicators_Info>
</n1:{root}>
"""  # noqa: E501


def tile_xml(
    names: Names,
    level: str,
    epsg: int,
    ulx: float,
    uly: float,
    size_10m: int,
    cloud_cover: float,
    baseline: str,
) -> str:
    """The granule's MTD_TL.xml: tile CRS and the grid of each resolution."""
    root = f"Level-{level[1:]}_Tile_ID"
    sizes = "\n".join(
        f'      <Size resolution="{r}"><NROWS>{size_10m * 10 // r}</NROWS>'
        f"<NCOLS>{size_10m * 10 // r}</NCOLS></Size>"
        for r in (10, 20, 60)
    )
    positions = "\n".join(
        f'      <Geoposition resolution="{r}"><ULX>{ulx:.0f}</ULX><ULY>{uly:.0f}</ULY>'
        f"<XDIM>{r}</XDIM><YDIM>-{r}</YDIM></Geoposition>"
        for r in (10, 20, 60)
    )
    zone = f"{epsg % 100}{'N' if epsg // 100 == 326 else 'S'}"
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="{PSD}/S2_PDI_Level-{level[1:]}_Tile_Metadata.xsd">
  <n1:General_Info>
    <TILE_ID metadataLevel="Brief">{names.granule_id}</TILE_ID>
    <DATASTRIP_ID metadataLevel="Standard">{names.datastrip_id}</DATASTRIP_ID>
    <SENSING_TIME metadataLevel="Standard">{_time(names.sensing)}</SENSING_TIME>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>WGS84 / UTM zone {zone}</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:{epsg}</HORIZONTAL_CS_CODE>
{sizes}
{positions}
    </Tile_Geocoding>
    <Tile_Angles>
      <Mean_Sun_Angle><ZENITH_ANGLE unit="deg">46.5</ZENITH_ANGLE><AZIMUTH_ANGLE unit="deg">172.3</AZIMUTH_ANGLE></Mean_Sun_Angle>
    </Tile_Angles>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info metadataLevel="Standard">
    <Image_Content_QI><CLOUDY_PIXEL_PERCENTAGE>{cloud_cover}</CLOUDY_PIXEL_PERCENTAGE></Image_Content_QI>
  </n1:Quality_Indicators_Info>
</n1:{root}>
"""  # noqa: E501
