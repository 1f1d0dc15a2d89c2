"""Real-client checks with LibreOffice Calc, for pytest.

pytest runs under pyenv/venv Python, but Debian's ``python3-uno`` only
imports in the system interpreter, so the UNO work happens in a helper
process: ``/usr/bin/python3 tests/lo_uno.py COMMAND ...`` (one private
headless soffice per call, one JSON object on stdout).

    from libreoffice import require_libreoffice, inspect, fill, unprotect

    def test_something(tmp_path):
        require_libreoffice()          # skip locally, fail when $CI is set
        info = inspect(path)           # {"sheets": [{name, visible, protected,
                                       #   used_area, validations{addr: {...}},
                                       #   unlocked[addr, ...]}, ...]}
        res = fill(path, out, [{"sheet": "S", "cell": "C9",
                                "value": "4", "kind": "input"}])
        # res == {"written": 1, "errors": [], ...}  (errors = locked cells etc.)
        unprotect(path, out2)
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LO_UNO_SCRIPT = HERE / "lo_uno.py"
SYSTEM_PYTHON = "/usr/bin/python3"
TIMEOUT = 180  # seconds per helper run (soffice start + job + shutdown)

INSTALL_HINT = (
    "LibreOffice (soffice) and Debian's python3-uno are needed for real-client tests: "
    "apt-get install libreoffice-calc-nogui python3-uno"
)

SOFFICE: str | None = shutil.which("soffice") or shutil.which("libreoffice")


def _helper_env() -> dict[str, str]:
    """Environment for /usr/bin/python3: drop what pyenv/venv may inject."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")
    }
    if SOFFICE:
        env["SOFFICE"] = SOFFICE
    return env


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None if LibreOffice can be driven, else why not (checked once)."""
    if SOFFICE is None:
        return f"soffice/libreoffice not found on PATH. {INSTALL_HINT}"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} not found. {INSTALL_HINT}"
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-I", "-c", "import uno"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_helper_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {SYSTEM_PYTHON}: {exc}. {INSTALL_HINT}"
    if probe.returncode != 0:
        err = probe.stderr.strip().splitlines()[-1:] or ["?"]
        return f"{SYSTEM_PYTHON} cannot import uno ({err[0]}). {INSTALL_HINT}"
    return None


def libreoffice_available() -> bool:
    return unavailable_reason() is None


def require_libreoffice() -> None:
    """Skip the test if LibreOffice is missing -- or fail it when $CI is set."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _run(*args: str) -> dict:
    require_libreoffice()
    cmd = [SYSTEM_PYTHON, "-I", str(LO_UNO_SCRIPT), *map(str, args)]
    # Own session so a timeout can take down the helper and its soffice.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_helper_env(),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the helper shut its soffice down; then force.
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        raise AssertionError(
            f"lo_uno.py {args[0]} timed out after {TIMEOUT}s\nstdout: {out}\nstderr: {err}"
        ) from None
    try:
        result = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        result = None
    if proc.returncode != 0 or not isinstance(result, dict) or "error" in result:
        msg = result.get("error") if isinstance(result, dict) else None
        raise AssertionError(
            f"lo_uno.py {' '.join(map(str, args))} failed (exit {proc.returncode})"
            f"{': ' + msg if msg else ''}\nstdout: {out.strip()}\nstderr: {err.strip()}"
        )
    return result


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def inspect(path: str | os.PathLike) -> dict:
    """Sheets as LibreOffice sees them: visibility, protection, validations, unlocked cells."""
    return _run("inspect", os.fspath(path))


def fill(src: str | os.PathLike, dst: str | os.PathLike, spec: list[dict]) -> dict:
    """Write cells like a user would and save as xlsx.

    spec entries: {"sheet", "cell", "value", "kind": "input"|"string"|"number"|"formula"}.
    Returns {"written": n, "errors": [{"sheet", "cell", "error"}, ...]}; writes to
    locked cells of protected sheets are refused and listed in "errors".
    """
    with tempfile.NamedTemporaryFile(
        "w", suffix=".json", prefix="lo_fill_", delete=False, encoding="utf-8"
    ) as fh:
        json.dump(spec, fh)
        spec_path = fh.name
    try:
        return _run("fill", os.fspath(src), os.fspath(dst), spec_path)
    finally:
        os.unlink(spec_path)


def unprotect(src: str | os.PathLike, dst: str | os.PathLike, password: str = "") -> dict:
    """Remove every sheet's protection and save as xlsx (content unchanged)."""
    args = ["unprotect", os.fspath(src), os.fspath(dst)]
    if password:
        args.append(password)
    return _run(*args)


def save_as_xls(src: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Save a workbook in the old binary .xls format, as an inspector choosing "Excel 97-2003" would."""
    require_libreoffice()
    src = Path(src)
    with tempfile.TemporaryDirectory(prefix="lo_profile_") as profile:
        result = subprocess.run(
            [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", "xls", "--outdir", os.fspath(out_dir), os.fspath(src)],
            capture_output=True, text=True, timeout=TIMEOUT, env=_helper_env(),
        )
    out = Path(out_dir) / (src.stem + ".xls")
    assert result.returncode == 0 and out.exists(), f"LibreOffice could not save as .xls:\n{result.stdout}\n{result.stderr}"
    return out
