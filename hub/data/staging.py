"""Products written by ingest (converted, geocoded, regridded) appear whole or not at all.

Each is written into a hidden folder beside its final place and renamed there only when
every file and its `odc-metadata.yaml` are written; an error removes the hidden folder,
so no reader (nor the index) ever sees half a product.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

METADATA = "odc-metadata.yaml"


@contextmanager
def staged(final: Path, key: object) -> Iterator[Path]:
    """A new hidden folder to write into; it becomes `final` when the block ends well.

    `key` tells simultaneous writers of the same product apart (with the pid)."""
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{id(key)}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        shutil.rmtree(final, ignore_errors=True)  # a leftover of an earlier, unindexed run
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_metadata(folder: Path, doc: dict[str, Any]) -> None:
    (folder / METADATA).write_text(yaml.safe_dump(doc, sort_keys=False))
