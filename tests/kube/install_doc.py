"""The install sequence documented in helm-values/README.md, read as commands.

Shared by the offline check (test_kube_install.py) and the live suite, which runs the
same commands on a cluster, so the documented sequence is the one tested.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

VALUES = Path(__file__).resolve().parents[2] / "helm-values"
README = VALUES / "README.md"
BEGIN, END = "<!-- install:begin -->", "<!-- install:end -->"


def install_block(readme: Path = README) -> str:
    text = readme.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise AssertionError(f"{readme.name}: one {BEGIN} ... {END} block expected")
    block = text.split(BEGIN)[1].split(END)[0].strip()
    found = re.fullmatch(r"```sh\n(.*)\n```", block, re.S)
    if found is None:
        raise AssertionError(f"{readme.name}: the install block is not one ```sh block")
    return found.group(1)


def install_commands(readme: Path = README) -> list[str]:
    """One string per command: continuation lines joined, comments and blanks dropped."""
    joined = install_block(readme).replace("\\\n", " ")
    lines = (line.strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass
class HelmInstall:
    release: str
    chart: str
    repo: str
    version: str
    namespace: str
    values: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def helm_install(command: str) -> HelmInstall | None:
    """`helm upgrade --install RELEASE CHART --repo URL --version V -n NS -f FILE...`."""
    args = shlex.split(command)
    if args[:3] != ["helm", "upgrade", "--install"]:
        return None
    found = HelmInstall(args[3], args[4], "", "", "")
    rest = iter(args[5:])
    for arg in rest:
        if arg == "--repo":
            found.repo = next(rest)
        elif arg == "--version":
            found.version = next(rest)
        elif arg in ("-n", "--namespace"):
            found.namespace = next(rest)
        elif arg in ("-f", "--values"):
            found.values.append(next(rest))
        else:
            found.flags.append(arg)
    return found


@dataclass(frozen=True)
class Created:
    """A Secret or ConfigMap `kubectl create` makes, and its keys."""

    kind: str
    name: str
    keys: frozenset[str]
    type: str = "Opaque"


def created_objects(commands: list[str]) -> list[Created]:
    found = []
    for command in commands:
        args = shlex.split(command)
        if "create" not in args or args[0] != "kubectl":
            continue
        at = args.index("create")
        kind = args[at + 1]
        if kind not in ("secret", "configmap"):
            continue
        name = args[at + 3] if kind == "secret" else args[at + 2]
        keys = {
            a.split("=", 1)[1].split("=", 1)[0] for a in args if a.startswith("--from-literal=")
        }
        keys |= {Path(a.split("=", 1)[1]).name for a in args if a.startswith("--from-file=")}
        types = [a.split("=", 1)[1] for a in args if a.startswith("--type=")]
        found.append(Created(kind, name, frozenset(keys), types[0] if types else "Opaque"))
    return found
