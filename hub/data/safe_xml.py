"""Reading ESA's metadata XML: namespaces change between baselines, so only local names are
matched; errors name the file."""

from __future__ import annotations

from xml.etree import ElementTree

from hub.data.eo3 import ProductError
from hub.data.safe_files import SafeSource


def parse_xml(source: SafeSource, relative: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(source.read(relative))
    except ElementTree.ParseError as exc:
        raise ProductError(f"{source.path}/{relative}: not well-formed XML ({exc})") from exc


def local_name(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def find_all(root: ElementTree.Element, tag: str) -> list[ElementTree.Element]:
    return [el for el in root.iter() if local_name(el) == tag]


def text(root: ElementTree.Element, tag: str, where: str, required: bool = True) -> str:
    found = find_all(root, tag)
    if not found or not (found[0].text or "").strip():
        if required:
            raise ProductError(f"{where}: missing <{tag}>")
        return ""
    return (found[0].text or "").strip()
