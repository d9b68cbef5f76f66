"""The services' HTML: escaping and the page shell (plain HTML, no framework).

Everything a page shows from a request, the database or the settings goes through `e`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def e(value: object) -> str:
    """`value` as HTML text or attribute value (quotes escaped too); None as nothing."""
    return escape("" if value is None else str(value), quote=True)


def page_shell(
    title: str,
    body: str,
    *,
    style: str,
    nav: Sequence[tuple[str, str]],
    heading: str | None = None,
    head: str = "",
    nav_separator: str = "",
) -> str:
    """A whole page: `title` in the tab, links (href, text) on top, then `heading`
    (default: the title) and `body`, which the caller has escaped already."""
    links = nav_separator.join(f"<a href='{e(href)}'>{e(text)}</a>" for href, text in nav)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
        f"{head}<style>{style}</style></head><body><nav>{links}</nav>"
        f"<h1>{e(title if heading is None else heading)}</h1>{body}</body></html>"
    )
