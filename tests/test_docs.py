"""The README cannot go stale: its table of codes, its sample output and its module table are checked
against what the code really has and prints, and every command's help ends with an example."""

from __future__ import annotations

import re

import click
import pytest

from xlschedule.cli import main
from xlschedule.codes import Code

from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_table(first_header: str) -> list[list[str]]:
    """The rows of the README table whose header row starts with `first_header`."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def fenced_block_after(marker: str) -> str:
    """The first ``` block after the line containing `marker`."""
    after = README[README.index(marker):]
    match = re.search(r"```\w*\n(.*?)```", after, re.S)
    assert match, f"no code block after {marker!r}"
    return match.group(1)


def test_readme_codes_table_is_every_code_with_its_severity():
    documented = {
        (code, severity)
        for names, severity, _meaning in readme_table("code")
        for code in re.findall(r"`([a-z-]+)`", names)
    }
    assert documented == {(c.code, c.severity.value) for c in Code}


def commands() -> list[tuple[str, click.Command]]:
    assert isinstance(main, click.Group)
    return [("xlschedule", main), *((f"xlschedule {n}", c) for n, c in sorted(main.commands.items()))]


@pytest.mark.parametrize("name,command", commands(), ids=[n for n, _ in commands()])
def test_every_command_has_help_ending_with_an_example(name, command):
    help_text = (command.help or "").strip()
    assert help_text, f"{name} has no help"
    last = help_text.splitlines()[-1].strip()
    assert last.startswith("Example: xlschedule "), f"{name}'s help should end with 'Example: xlschedule ...'"
    result = run_cli(*name.split()[1:], "--help")
    assert result.exit_code == 0 and last in result.output


def test_readme_sample_output_is_what_ingest_prints(tmp_path, monkeypatch):
    # As the README runs it, naming files as samples/..., from a checkout with no registry built yet
    # (a registry the user built in output/ would be found, and its note not printed).
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "consolidated.xlsx"
    result = run_cli("ingest", "samples", "--out", str(out))
    assert result.exit_code == 1
    printed = result.stdout.replace(str(out), "output/consolidated.xlsx")
    assert printed == fenced_block_after("Ingesting them (`xlschedule ingest samples")


def test_readme_module_table_names_every_module():
    documented = {re.sub(r"`", "", row[0]) for row in readme_table("module")}
    modules = {p.name for p in (ROOT / "src" / "xlschedule").glob("*.py") if not p.name.startswith("__")}
    assert documented == modules


def test_readme_python_example_runs_as_shown(tmp_path, monkeypatch, capsys):
    import shutil

    shutil.copy(ROOT / "schedule.toml", tmp_path)
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    code = fenced_block_after("## From Python")
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Built 2 protected workbooks (scale,") and printed[1] == "4 1"
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == [
        "Essex.xlsx", "Kent.xlsx", "consolidated.xlsx", "responses.csv",
    ]


def test_readme_before_you_start_names_the_python_pyproject_requires_a_venv_and_the_schemas():
    import tomllib

    start = README.index("## Before you start")
    section = README[start:README.index("\n## ", start + 1)]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert requires.startswith(">=")
    assert f"Python {requires[2:]} or later" in section
    assert "virtual environment" in section and "python3 -m venv" in section
    folder = re.search(r"`(tests/ooxml-xsd)/`", section)
    assert folder and (ROOT / folder.group(1) / "transitional" / "sml.xsd").is_file()
