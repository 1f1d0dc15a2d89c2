"""Real-client checks with LibreOffice Calc, for pytest.

pytest runs under pyenv/venv Python, but Debian's ``python3-uno`` only
imports in the system interpreter, so the UNO work happens in a helper
process: ``/usr/bin/python3 tests/lo_uno.py serve``, one headless soffice
for the whole session, a JSON request and a JSON result per line.

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

import atexit
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from conftest import require

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
    require(unavailable_reason())


class _Server:
    """One ``lo_uno.py serve`` (one soffice) for the whole test session: starting soffice costs seconds,
    so every job is sent to the same one. A job that times out takes the server down; the next starts anew."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        # Own session so a timeout can take down the helper and its soffice.
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, "-I", str(LO_UNO_SCRIPT), "serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=_helper_env(), start_new_session=True,
        )
        ready = self._line(proc, "starting LibreOffice")
        if not ready.get("ready"):
            self.stop(proc)
            raise AssertionError(f"lo_uno.py serve did not start: {ready}")
        return proc

    def _line(self, proc: subprocess.Popen[str], doing: str) -> dict:
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        line = proc.stdout.readline() if readable else ""
        if not line:
            err = self.stop(proc)
            cause = f"timed out after {TIMEOUT}s" if not readable else f"exited ({proc.returncode})"
            raise AssertionError(f"lo_uno.py {doing} {cause}\nstderr: {err}")
        try:
            result = json.loads(line)
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise AssertionError(f"lo_uno.py {doing}: not a JSON object: {line!r}")
        return result

    def request(self, command: str, args: list[str]) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"command": command, "args": args}) + "\n")
        self.proc.stdin.flush()
        try:
            return self._line(self.proc, command)
        except AssertionError:
            self.proc = None
            raise

    def stop(self, proc: subprocess.Popen[str] | None = None) -> str:
        """End the server (politely, then by force); returns what it wrote to stderr."""
        proc = proc or self.proc
        if proc is None:
            return ""
        if proc is self.proc:
            self.proc = None
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write(json.dumps({"command": "quit"}) + "\n")
                proc.stdin.close()
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        return proc.stderr.read() if proc.stderr is not None else ""


_SERVER = _Server()
atexit.register(_SERVER.stop)


def _run(*args: str) -> dict:
    require_libreoffice()
    result = _SERVER.request(args[0], [str(a) for a in args[1:]])
    if "error" in result:
        raise AssertionError(f"lo_uno.py {' '.join(map(str, args))} failed: {result['error']}")
    return result


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def inspect(path: str | os.PathLike) -> dict:
    """Sheets as LibreOffice sees them: visibility, protection, validations, unlocked cells."""
    return _run("inspect", os.fspath(path))


def notes(path: str | os.PathLike) -> dict:
    """What LibreOffice shows of a workbook's notes: {"sheets": names in order, "notes": {sheet: {cell: text}},
    "first_sheet": {cell: text} of the first sheet}."""
    return _run("notes", os.fspath(path))


def fill(src: str | os.PathLike, dst: str | os.PathLike, spec: list[dict]) -> dict:
    """Write cells like a user would and save as xlsx.

    spec entries: {"sheet", "cell", "value", "kind": "input"|"string"|"number"|"formula"}.
    Returns {"written": n, "errors": [{"sheet", "cell", "error"}, ...]}; writes to
    locked cells of protected sheets are refused and listed in "errors".
    """
    return _run_with_spec("fill", spec, src, dst)


def _run_with_spec(command: str, spec: list[dict], *paths: str | os.PathLike) -> dict:
    """Run a driver command whose last argument is the fill spec, passed as a temporary JSON file."""
    with tempfile.NamedTemporaryFile(
        "w", suffix=".json", prefix="lo_fill_", delete=False, encoding="utf-8"
    ) as fh:
        json.dump(spec, fh)
        spec_path = fh.name
    try:
        return _run(command, *(os.fspath(p) for p in paths), spec_path)
    finally:
        os.unlink(spec_path)


def fill_and_print(src: str | os.PathLike, dst: str | os.PathLike, pdf: str | os.PathLike, spec: list[dict]) -> dict:
    """fill(), then open the saved workbook afresh and export it to PDF (every sheet, as printed).

    Returns fill's result plus {"heights": {"Sheet!row": points}}: each filled cell's row as LibreOffice
    sizes it on opening the saved file."""
    return _run_with_spec("fill_pdf", spec, src, dst, pdf)


def unprotect(src: str | os.PathLike, dst: str | os.PathLike, password: str = "") -> dict:
    """Remove every sheet's protection and save as xlsx (content unchanged)."""
    args = ["unprotect", os.fspath(src), os.fspath(dst)]
    if password:
        args.append(password)
    return _run(*args)


def save_as_xls(src: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Save a workbook in the old binary .xls format, as an inspector choosing "Excel 97-2003" would."""
    out = Path(out_dir) / (Path(src).stem + ".xls")
    _run("save_xls", os.fspath(src), os.fspath(out))
    assert out.exists(), f"LibreOffice did not write {out}"
    return out
