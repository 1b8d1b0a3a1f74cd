"""The fault matrix printed at the end of the run (a plugin: xdist's controller needs it).

Each matrix test reports its cell as a user property; the controller (or the only process)
collects them from the test reports and prints one row per service, one column per fault.
"""

from collections import defaultdict

import pytest

MATRIX_PROPERTY = "fault_matrix_cell"
SERVICES = ("plex", "sonarr", "radarr", "tautulli", "overseerr")
COLUMNS = (
    "refused",
    "timeout",
    "401",
    "403",
    "404",
    "429",
    "500",
    "malformed",
    "truncated",
    "wrong schema",
)
# (service, column) -> [(checks passed, checks run, cell passed)], one per test run.
_RESULTS: dict[tuple[str, str], list[tuple[int, int, bool]]] = defaultdict(list)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the cells that tests report (from xdist workers too)."""
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == MATRIX_PROPERTY:
            service, column, passed, total = value
            _RESULTS[service, column].append(
                (passed, total, report.passed and passed == total)
            )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the matrix: one row per service, one column per fault, with pass counts."""
    if not _RESULTS:
        return
    width = max(len(column) for column in COLUMNS)
    write = terminalreporter.write_line
    terminalreporter.section("SmartPlex fault matrix (checks passed/run per cell)")
    write(f"{'':<10}" + "".join(f"{column:>{width + 2}}" for column in COLUMNS))
    cells = cells_passed = checks = checks_passed = 0
    for service in SERVICES:
        row = f"{service:<10}"
        for column in COLUMNS:
            runs = _RESULTS.get((service, column))
            if not runs:
                row += f"{'-':>{width + 2}}"
                continue
            passed = sum(run[0] for run in runs)
            total = sum(run[1] for run in runs)
            ok = all(run[2] for run in runs)
            cells += 1
            cells_passed += ok
            checks += total
            checks_passed += passed
            mark = f"{passed}/{total}" + ("" if ok else " FAIL")
            row += f"{mark:>{width + 2}}"
        write(row)
    write(
        f"cells passed: {cells_passed}/{cells}; checks passed: {checks_passed}/{checks}"
    )
