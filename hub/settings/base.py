"""The one strict base model every settings section is built on, and the field types
more than one section uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a settings file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _projected_crs(value: str) -> str:
    # pyproj is heavy and only needed when a settings file names a CRS
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise ValueError(f"{value!r} is not a coordinate reference system ({exc})") from exc
    if not crs.is_projected:
        raise ValueError(f"{value!r} is not a projected CRS; use metres, e.g. EPSG:3006")
    return value


#: A CRS pyproj knows, in metres (a target grid of ingest).
ProjectedCrs = Annotated[str, AfterValidator(_projected_crs)]

#: A TCP port a part of the platform listens on; 0 picks a free one at start-up.
ListenPort = Annotated[int, Field(ge=0, le=65535)]

#: A pixel size in metres (of a target grid of ingest).
PixelSize = Annotated[float, Field(gt=0, le=10_000)]
