"""A CI report as JUnit XML, the test report every CI system reads (GitHub Actions,
GitLab, Jenkins): one `<testsuite>` per pipeline (and per repository for its tests), one
`<testcase>` per check, a `<failure>` or `<skipped>` in the cases that did not pass.

    <testsuites name="conveyor ci" tests="6" failures="1" errors="0" skipped="1" time="4.2">
      <testsuite name="pipelines/train.py:train" tests="3" failures="0" ...>
        <testcase classname="pipelines/train.py:train" name="compile" time="0.8"/>
        ...
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.automation.ci import FAILED, SKIPPED

if TYPE_CHECKING:
    from conveyor.automation.ci import CheckResult, Report


def to_xml(report: Report) -> ET.Element:
    """The `<testsuites>` element of `report`."""
    suites: dict[str, list[CheckResult]] = {}
    for result in report.checks:
        suites.setdefault(result.pipeline, []).append(result)
    root = ET.Element("testsuites", name="conveyor ci", **_counts(report.checks))
    for name, results in suites.items():
        suite = ET.SubElement(root, "testsuite", name=name, **_counts(results))
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=name,
                name=result.check,
                time=f"{result.seconds:.3f}",
            )
            if result.result == FAILED:
                failure = ET.SubElement(case, "failure", message=result.detail)
                failure.text = result.output or result.detail
            elif result.result == SKIPPED:
                ET.SubElement(case, "skipped", message=result.detail)
            else:
                ET.SubElement(case, "system-out").text = result.detail
    return root


def write(report: Report, path: str | os.PathLike[str]) -> None:
    """Write the report's JUnit XML to `path` whole: a reader never sees half a file."""
    target = Path(path)
    tree = ET.ElementTree(to_xml(report))
    ET.indent(tree)
    fd, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, 0o644)  # a report for others to read, not mkstemp's private 0600
        with os.fdopen(fd, "wb") as file:
            tree.write(file, encoding="utf-8", xml_declaration=True)
        os.replace(staging, target)
    except BaseException:
        os.unlink(staging)
        raise


def _counts(results: list[CheckResult]) -> dict[str, str]:
    return {
        "tests": str(len(results)),
        "failures": str(sum(r.result == FAILED for r in results)),
        "errors": "0",
        "skipped": str(sum(r.result == SKIPPED for r in results)),
        "time": f"{sum(r.seconds for r in results):.3f}",
    }
