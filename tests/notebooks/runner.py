"""Execute template notebooks the way a workspace would, for the tests and the benchmark.

A notebook runs in a clean kernel whose Python is the user image's package set
(`SDL_NOTEBOOK_PYTHON`, a virtualenv made from images/user/requirements.lock in CI; this
interpreter otherwise), with the environment of a real user's running server (their
read-only ODC login, the Dask Gateway address and token) and, as root, under that
user's OS account — so the archive's permissions are tested too.

nbclient runs in a subprocess (this file as a script, so the kernel inherits no
PYTHONPATH pointing into the repository: `hub` comes from the interpreter's own
installation, as in the image). After the notebook's cells a probe cell evaluates
expressions in the kernel and prints them as JSON; the probe cell is then removed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

KERNEL_NAME = "sdl-user-image"
PROBE_MARK = "SDL-PROBE "
PROBE_TAG = "sdl-test-probe"
TEMPLATES = Path(__file__).resolve().parents[2] / "notebooks" / "templates"


def kernel_python() -> str:
    """The interpreter notebooks run on: the user image's package set in CI."""
    return os.environ.get("SDL_NOTEBOOK_PYTHON", sys.executable)


def write_kernelspec(jupyter_path: Path, python: str) -> Path:
    """A kernel spec named KERNEL_NAME for `python`, found via JUPYTER_PATH=jupyter_path."""
    folder = jupyter_path / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Space Data Lab (user image)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


@dataclass
class Run:
    """One executed notebook: its cells with outputs, wall time and what the probe saw."""

    name: str
    seconds: float
    notebook: Any  # nbformat.NotebookNode, probe cell removed
    probes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def outputs(self, output_type: str | None = None) -> list[dict[str, Any]]:
        found = []
        for cell in self.notebook.cells:
            for output in cell.get("outputs", []):
                if output_type is None or output.get("output_type") == output_type:
                    found.append(output)
        return found

    def pngs(self) -> list[bytes]:
        return [
            base64.b64decode(out["data"]["image/png"])
            for out in self.outputs()
            if "image/png" in out.get("data", {})
        ]

    def text(self) -> str:
        parts = []
        for out in self.outputs():
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "text/plain" in out.get("data", {}):
                parts.append(out["data"]["text/plain"] + "\n")
        return "".join(parts)

    def widget_state(self) -> dict[str, Any]:
        """model id -> model state, as saved for the frontend (store_widget_state)."""
        widgets = self.notebook.metadata.get("widgets", {})
        state = widgets.get("application/vnd.jupyter.widget-state+json", {})
        return state.get("state", {})


def probe_cell(probes: dict[str, str]) -> Any:
    """A code cell that evaluates each expression and prints the results as JSON."""
    source = f"""\
import json as _sdl_json
def _sdl_probe(expressions):
    found = {{}}
    for key, expression in expressions.items():
        try:
            found[key] = eval(expression, globals())
        except Exception as error:  # reported, the test says which one failed
            found[key] = {{"probe_error": repr(error)}}
    print({PROBE_MARK!r} + _sdl_json.dumps(found, default=str))
_sdl_probe({probes!r})
"""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [PROBE_TAG]
    return cell


def run_as_prefix(server_env: dict[str, str]) -> tuple[list[str], str | None]:
    """`runuser -u <server's OS user> --` when root runs a server as another account."""
    user = server_env.get("USER", "")
    if os.geteuid() != 0 or not user or user == "root":
        return [], None
    try:
        pwd.getpwnam(user)
    except KeyError:
        return [], None
    return ["runuser", "-u", user, "--"], user


def run_notebook(
    notebook: str | Path | Any,
    server_env: dict[str, str],
    *,
    probes: dict[str, str] | None = None,
    workdir: Path | None = None,
    timeout: float = 300,
    python: str | None = None,
) -> Run:
    """Execute a notebook (path or NotebookNode) top to bottom in a clean kernel.

    It runs in `workdir` (a fresh folder by default, like ~/examples: exports land
    there) with HOME, cwd and kernel spec of its own; nothing is written to the repo.
    """
    if isinstance(notebook, str | Path):
        name = Path(notebook).name
        nb = nbformat.read(notebook, as_version=4)
    else:
        name = notebook.metadata.get("sdl_name", "notebook.ipynb")
        nb = nbformat.from_dict(json.loads(json.dumps(notebook)))
    if probes:
        nb.cells.append(probe_cell(probes))
    prefix, user = run_as_prefix(server_env)
    scratch = Path(tempfile.mkdtemp(prefix="sdl-nb-", dir="/tmp"))
    scratch.chmod(0o755)
    workdir = workdir or scratch / "examples"
    workdir.mkdir(parents=True, exist_ok=True)
    jupyter_path = scratch / "jupyter"
    write_kernelspec(jupyter_path, python or kernel_python())
    source, result = scratch / name, scratch / f"executed-{name}"
    nbformat.write(nb, source)
    env = {
        **server_env,
        "JUPYTER_PATH": str(jupyter_path),
        "JUPYTER_CONFIG_DIR": str(scratch / "config"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "IPYTHONDIR": str(scratch / "ipython"),
        "MPLCONFIGDIR": str(scratch / "matplotlib"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTHONPATH", None)
    env.pop("JUPYTERHUB_SERVICE_URL", None)  # the kernel is not the server
    if user:
        for path in [scratch, *scratch.rglob("*")]:
            shutil.chown(path, user)
    command = [
        *prefix,
        sys.executable,
        str(Path(__file__).resolve()),
        "execute",
        str(source),
        str(result),
        "--cwd",
        str(workdir),
        "--timeout",
        str(timeout),
    ]
    started = time.perf_counter()
    proc = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout * 3, cwd=str(workdir)
    )
    seconds = time.perf_counter() - started
    if not result.exists():
        raise RuntimeError(f"{name}: runner failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    executed = nbformat.read(result, as_version=4)
    found: dict[str, Any] = {}
    if probes:
        probe = executed.cells.pop()
        for out in probe.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(PROBE_MARK):
                    found = json.loads(line[len(PROBE_MARK) :])
    shutil.rmtree(scratch, ignore_errors=True)
    return Run(name, summary.get("seconds", seconds), executed, found, summary.get("error"))


def _execute(source: str, result: str, cwd: str, timeout: float) -> None:
    """In the subprocess: run the notebook with nbclient, write it, print a JSON summary."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=int(timeout),
        resources={"metadata": {"path": cwd}},
        store_widget_state=True,
    )
    error = None
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as failure:
        error = str(failure)[-6000:]
    seconds = time.perf_counter() - started
    nbformat.write(nb, result)
    print(json.dumps({"seconds": round(seconds, 2), "error": error}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    execute = sub.add_parser("execute", help="run one notebook (used in a subprocess)")
    execute.add_argument("source")
    execute.add_argument("result")
    execute.add_argument("--cwd", required=True)
    execute.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    _execute(args.source, args.result, args.cwd, args.timeout)


if __name__ == "__main__":
    main()
