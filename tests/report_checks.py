"""Reading a QA report page back in tests: every picture and link, the map entries, the residual scale."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

PNG_PREFIX = "data:image/png;base64,"


@dataclass
class ParsedPage:
    """What a page references: ``<img src>``, ``<a href>``, the ``figure.map`` entries, elements by id."""

    images: list[dict[str, str]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    maps: list[dict[str, str]] = field(default_factory=list)
    ticks: list[dict[str, str]] = field(default_factory=list)
    by_id: dict[str, dict[str, str]] = field(default_factory=dict)
    external: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = ParsedPage()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.page.by_id[a["id"]] = a
        if tag == "img":
            self.page.images.append(a)
        if tag == "a":
            self.page.links.append(a.get("href", ""))
        if tag == "figure" and a.get("class") == "map":
            self.page.maps.append(a)
        if tag == "span" and a.get("class") == "tick":
            self.page.ticks.append(a)
        if tag in ("link", "script", "iframe", "object", "embed") or (tag == "img" and "//" in a.get("src", "")[:12]):
            self.page.external.append(f"<{tag} {a}>")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.page.text.append(data.strip())


def parse_page(path: Path) -> ParsedPage:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def decode_png(src: str) -> np.ndarray:
    """The RGB pixels of a PNG data URI; fails the test when it is not one."""
    import cv2

    assert src.startswith(PNG_PREFIX), src[:40]
    data = base64.b64decode(src[len(PNG_PREFIX) :], validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None, "PNG does not decode"
    return np.asarray(pixels[:, :, ::-1])


def check_references(page_path: Path) -> ParsedPage:
    """Every ``<img>`` is a decodable PNG data URI, every relative link exists; nothing is fetched."""
    page = parse_page(page_path)
    assert page.external == [], "the page must not fetch anything"
    assert page.images, "a report without pictures"
    for image in page.images:
        pixels = decode_png(image["src"])
        assert pixels.shape[:2] == (int(image["height"]), int(image["width"]))
    for href in page.links:
        assert "://" not in href, f"external link {href}"
        assert (page_path.parent / href).exists(), f"broken link {href}"
    return page
