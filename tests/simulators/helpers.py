"""Helpers shared by the simulator contract tests."""

from xml.etree import ElementTree as ET


def parse_xml(text: str) -> ET.Element:
    """Parse XML produced by our own simulators."""
    return ET.fromstring(text)  # noqa: S314
