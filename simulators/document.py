"""Plex-style documents: one tree rendered as XML or as Plex's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

type Value = str | int | float | bool | None


@dataclass(slots=True)
class Element:
    """An XML element whose attributes keep their JSON types."""

    tag: str
    attrs: dict[str, Value] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)

    def to_xml(self) -> str:
        """Render as an XML document the way Plex does (booleans as 1/0)."""
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + self.xml_fragment() + "\n"

    def xml_fragment(self) -> str:
        """Render this element and its children."""
        attrs = "".join(
            f" {key}={quoteattr(_xml_value(value))}"
            for key, value in self.attrs.items()
            if value is not None
        )
        if not self.children:
            return f"<{self.tag}{attrs} />"
        inner = "\n".join(child.xml_fragment() for child in self.children)
        return f"<{self.tag}{attrs}>\n{inner}\n</{self.tag}>"

    def to_json(self) -> dict[str, Any]:
        """Render as Plex JSON: attributes as keys, children as lists per tag."""
        return {self.tag: self.json_content()}

    def json_content(self) -> dict[str, Any]:
        """Render this element's content."""
        content: dict[str, Any] = {
            key: value for key, value in self.attrs.items() if value is not None
        }
        for child in self.children:
            content.setdefault(child.tag, []).append(child.json_content())
        return content


def _xml_value(value: str | float) -> str:
    """Render one attribute value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
