"""Finding codes cannot drift: each member is named as the code a user sees, and every call site that
makes a finding gives its template every placeholder it needs (found by reading the source, so a missing
one fails here rather than as an `unexpected-error` on somebody's return)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xlschedule.codes import Code
from xlschedule.model import Severity

SRC = Path(__file__).resolve().parents[1] / "src" / "xlschedule"
ALWAYS_GIVEN = {"sheet", "cell"}  # Code.finding passes these to every template


def code_member(node: ast.AST) -> str | None:
    """'X' for the expression `Code.X`, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Code":
        return node.attr
    return None


def keywords(call: ast.Call) -> set[str] | None:
    """The keyword names a call passes, or None when it passes **mapping (checked where that is built)."""
    if any(k.arg is None for k in call.keywords):
        return None
    return {k.arg for k in call.keywords if k.arg is not None}


def call_sites() -> list[tuple[str, int, set[str], set[str] | None]]:
    """(file, line, the members the call may use, the keywords it gives) for every finding made in src."""
    sites = []
    for path in sorted(SRC.glob("*.py")):
        if path.name == "errors.py":
            continue  # defines ReadError, and rebuilds one from its own values after a trip between processes
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
        passed_to: dict[str, set[str]] = {}  # function name -> Code members passed to it as arguments
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Name):
                members = {m for a in call.args if (m := code_member(a))}
                passed_to.setdefault(call.func.id, set()).update(members)
        for function in functions.values():
            inside = {m for n in ast.walk(function) if (m := code_member(n))}
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                func = call.func
                if isinstance(func, ast.Name) and func.id == "ReadError" and call.args:
                    member = code_member(call.args[0])
                    assert member, f"{path.name}:{call.lineno}: ReadError needs a Code member as its first argument"
                    sites.append((path.name, call.lineno, {member}, keywords(call)))
                elif isinstance(func, ast.Attribute) and func.attr == "finding":
                    member = code_member(func.value)
                    if member:
                        possible = {member}
                    elif isinstance(func.value, ast.Attribute) and func.value.attr == "code":
                        continue  # exc.code.finding(**exc.values): the ReadError call site was checked
                    else:
                        possible = inside | passed_to.get(function.name, set())
                    sites.append((path.name, call.lineno, possible, keywords(call)))
    return sites


SITES = call_sites()


def test_every_member_is_named_after_its_code():
    for member in Code:
        assert member.code == member.name.lower().replace("_", "-")
        assert member.severity in (Severity.ERROR, Severity.WARNING)
    assert len({m.code for m in Code}) == len(Code)


def test_every_code_is_made_somewhere():
    used = {m for _file, _line, possible, _kw in SITES for m in possible}
    assert sorted(m.name for m in Code if m.name not in used) == []


@pytest.mark.parametrize("site", SITES, ids=[f"{f}:{line}" for f, line, _p, _k in SITES])
def test_each_call_site_gives_every_placeholder(site):
    file, line, possible, given = site
    assert possible, f"{file}:{line}: cannot tell which code this finding uses"
    if given is None:
        pytest.fail(f"{file}:{line}: passes **values; name the template's values instead")
    for name in possible:
        missing = Code[name].placeholders - ALWAYS_GIVEN - given
        assert not missing, f"{file}:{line}: Code.{name} needs {sorted(missing)}"
        needs_sheet = "sheet" in Code[name].placeholders
        assert not needs_sheet or "sheet" in given, f"{file}:{line}: Code.{name} names the sheet; give sheet="


def test_the_checker_finds_a_missing_placeholder(tmp_path, monkeypatch):
    """The test above can fail: a call site that drops a value is caught."""
    broken = tmp_path / "broken.py"
    broken.write_text("def f(file):\n    return Code.INVALID_SCORE.finding(file, sheet='S', cell='C', value=1)\n")
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path)
    (site,) = call_sites()
    with pytest.raises(AssertionError, match=r"Code.INVALID_SCORE needs \['options', 'ref'\]"):
        test_each_call_site_gives_every_placeholder(site)


def test_every_code_says_what_to_do_and_its_templates_format():
    """A code's problem and fix are separate templates: the fix is never empty, and both format with their
    placeholders (so a finding's problem is whole, and its message is the two as one line)."""
    for member in Code:
        values = {name: f"<{name}>" for name in member.placeholders}
        finding = member.finding("f.xlsx", **values)
        assert finding.fix.strip(), f"Code.{member.name} says nothing to do"
        assert finding.problem.strip() and "{" not in finding.problem, member.name
        assert finding.message == f"{finding.problem} {finding.fix}", member.name
