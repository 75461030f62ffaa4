"""The CI examples in docs/ci run the suite with options chaosrun really has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from chaosrun.cli import _parser

DOCS = Path(__file__).parents[2] / "docs" / "ci"


def _suite_commands(text: str) -> list[list[str]]:
    joined = text.replace("\\\n", " ")
    found = re.findall(r"\.venv/bin/chaosrun (suite [^\n']+)", joined)
    return [shlex.split(command) for command in found]


@pytest.mark.parametrize("name", ["github-actions.yml", "Jenkinsfile"])
def test_the_documented_suite_command_parses(name: str) -> None:
    text = (DOCS / name).read_text()
    commands = _suite_commands(text)
    assert commands, f"no chaosrun suite command in {name}"
    for argv in commands:
        args = _parser().parse_args(argv)
        assert args.command == "suite" and args.parallel == 4
        assert (args.junit, args.html, args.markdown) == (
            Path("out/junit.xml"),
            Path("out/report.html"),
            Path("out/summary.md"),
        )
        assert args.budget is not None and (DOCS.parents[1] / args.budget).exists()


def test_the_workflow_is_yaml_that_publishes_the_reports() -> None:
    workflow = yaml.safe_load((DOCS / "github-actions.yml").read_text())
    steps = workflow["jobs"]["chaos"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert any("junit" in u for u in uses)
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
