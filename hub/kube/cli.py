"""Click commands of Kubernetes mode, mounted on `sdl` by hub/cli.py.

`cli.add_command(render)` gives `sdl render --out DIR [--config FILE]`;
`cli.add_command(profiles)` gives `sdl profiles fit --node CPU,MEMORY`.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from hub.errors import SdlError
from hub.kube.fit import NodeFit, fit_node, parse_node
from hub.profiles import format_size, parse_size
from hub.settings import load_settings


@click.command()
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the YAML files into (users/ and platform/).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Settings file (YAML); built-in defaults without it.",
)
def render(out: Path, config_file: Path | None) -> None:
    """Write every Kubernetes object the platform creates or ships, for review and GitOps."""
    from hub.kube.render import render as render_objects

    try:
        written = render_objects(load_settings(config_file), out)
    except SdlError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {len(written)} objects under {out}")


@click.group()
def profiles() -> None:
    """Work with server profiles (spawner_profiles/*.yaml)."""


def _node(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, int]:
    try:
        return parse_node(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def fit_table(fit: NodeFit) -> Table:
    table = Table(
        title=f"Node {fit.cpu:g} CPU, {format_size(fit.memory)}: "
        f"reserved {fit.reserved_cpu:.2f} CPU, {format_size(fit.reserved_memory)}; "
        f"for users {fit.available_cpu:.2f} CPU, {format_size(fit.available_memory)}"
    )
    for column in ("users/node", "cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit"):
        table.add_column(column, justify="right")
    table.add_column("packing", justify="right")
    for share in fit.shares:
        table.add_row(
            str(share.users),
            f"{share.cpu_guarantee:g}",
            f"{share.cpu_limit:g}",
            format_size(share.mem_guarantee),
            format_size(share.mem_limit),
            f"{share.packing:.1%}",
        )
    return table


@profiles.command("fit")
@click.option(
    "--node",
    required=True,
    callback=_node,
    help="Node capacity as CPU,MEMORY, e.g. 16,64Gi (the machine type's size).",
)
@click.option(
    "--daemonset-cpu",
    default=0.1,
    show_default=True,
    type=float,
    help="CPU requested on every node by DaemonSets (CNI, kube-proxy, image puller).",
)
@click.option(
    "--daemonset-memory",
    default="256Mi",
    show_default=True,
    callback=_size,
    help="Memory requested on every node by DaemonSets.",
)
@click.option("--yaml", "as_yaml", is_flag=True, help="Print profile fields as YAML instead.")
def fit(
    node: tuple[float, int], daemonset_cpu: float, daemonset_memory: int, as_yaml: bool
) -> None:
    """Guarantees and limits that pack a node's allocatable to >= 90% for 1, 2, 4... users."""
    try:
        result = fit_node(*node, daemonset_cpu=daemonset_cpu, daemonset_memory=daemonset_memory)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_yaml:
        shares = {f"{s.users}-per-node": s.as_profile_fields() for s in result.shares}
        click.echo(yaml.safe_dump(shares, sort_keys=False), nl=False)
        return
    Console().print(fit_table(result))
