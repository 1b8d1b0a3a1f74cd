"""Figures the tests measure, printed at the end of the run (a plugin, like the matrix).

A test records `record_property(FIGURE, (name, value))`; the controller (or the only
process) collects them from the test reports and prints them in one section.
"""

import pytest

FIGURE = "smartplex_figure"
# (test name, figure, value), in the order the tests reported them.
_FIGURES: list[tuple[str, str, object]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the figures tests report (from xdist workers too)."""
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == FIGURE:
            figure, measured = value
            _FIGURES.append((report.nodeid.rsplit("::", 1)[-1], figure, measured))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every figure with the test that measured it."""
    if not _FIGURES:
        return
    terminalreporter.section("SmartPlex figures")
    for test, figure, value in _FIGURES:
        terminalreporter.write_line(f"{figure}: {value}  [{test}]")
