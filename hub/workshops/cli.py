"""`sdl workshop …`: the instructor page's actions from a terminal.

Talks to the running workshops service with the instructor's own hub token
(`--token` / SDL_TOKEN; make one on the hub's Token page), so it has exactly the
instructor's rights. The hub URL comes from `--url`, SDL_HUB_URL or the runtime file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import requests

from hub.errors import SdlError
from hub.runtime import read_runtime


class Client:
    def __init__(self, url: str | None, token: str, data_dir: Path | None) -> None:
        self.url, self.token, self.data_dir = url, token, data_dir

    @property
    def base(self) -> str:
        return hub_url(self.url, self.data_dir).rstrip("/") + "/services/workshops/api"

    @property
    def headers(self) -> dict[str, str]:
        if not self.token:
            raise SdlError("no hub token: pass --token or set SDL_TOKEN (hub's Token page)")
        return {"Authorization": f"token {self.token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = requests.request(
                method,
                self.base + path,
                headers=headers,
                timeout=300,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise SdlError(f"cannot reach the workshops service at {self.base}: {exc}") from exc
        if response.status_code in (301, 302, 401):
            raise SdlError("the hub did not accept the token: pass --token or set SDL_TOKEN")
        if response.status_code >= 400:
            try:
                message = response.json()["message"]
            except (ValueError, KeyError):
                message = response.text[:300]
            raise SdlError(f"{method} {path}: {message} ({response.status_code})")
        return response.json() if response.content else None


def hub_url(url: str | None, data_dir: Path | None) -> str:
    if url:
        return url
    if data_dir:
        try:
            return read_runtime(Path(data_dir)).public_url
        except OSError:
            pass
    raise SdlError("which hub? pass --url (or set SDL_HUB_URL, or SDL_DATA_DIR of a running one)")


def out(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group()
@click.option("--url", envvar="SDL_HUB_URL", help="The platform's public URL.")
@click.option("--token", envvar="SDL_TOKEN", default="", help="Your hub API token.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SDL_DATA_DIR",
    help="Data dir of a running `sdl up` (finds its URL).",
)
@click.pass_context
def workshop(ctx: click.Context, url: str | None, token: str, data_dir: Path | None) -> None:
    """Create and run workshops (instructors)."""
    ctx.obj = Client(url, token, data_dir)


@workshop.command("list")
@click.pass_obj
def list_(client: Client) -> None:
    """Your workshops."""
    for item in client.call("GET", "/workshops"):
        click.echo(f"{item['name']:24} v{item['version']:<3} ends {item['ends_at']}")


@workshop.command()
@click.argument("name")
@click.option("--title", default="")
@click.option("--starts", default="+0m", show_default=True, help="ISO time or +3h.")
@click.option("--ends", required=True, help="ISO time (UTC if no offset) or +3h.")
@click.option("--profile", "profiles", multiple=True, help="Profile allowed (repeatable).")
@click.option("--join-code", is_flag=True, help="Let people join with a code.")
@click.option("--git", "git_url", default="", help="Templates from this https git repo.")
@click.option("--ref", default="", help="Branch or tag of --git.")
@click.pass_obj
def create(
    client: Client,
    name: str,
    title: str,
    starts: str,
    ends: str,
    profiles: tuple[str, ...],
    join_code: bool,
    git_url: str,
    ref: str,
) -> None:
    """Create workshop NAME."""
    template = {"kind": "git", "url": git_url, "ref": ref} if git_url else {"kind": "builtin"}
    out(
        client.call(
            "POST",
            "/workshops",
            json={
                "name": name,
                "title": title,
                "starts_at": starts,
                "ends_at": ends,
                "profiles": list(profiles),
                "join_code": join_code,
                "template": template,
            },
        )
    )


@workshop.command()
@click.argument("name")
@click.pass_obj
def status(client: Client, name: str) -> None:
    """Who received which version, and their conflicts."""
    out(client.call("GET", f"/workshops/{name}"))


@workshop.command()
@click.argument("name")
@click.argument("users", nargs=-1, required=True)
@click.pass_obj
def add(client: Client, name: str, users: tuple[str, ...]) -> None:
    """Add users to workshop NAME; existing hub users are invited (they accept).

    An admin's users are all added at once."""
    out(client.call("POST", f"/workshops/{name}/participants", json={"users": list(users)}))


@workshop.command()
@click.argument("name")
@click.argument("users", nargs=-1, required=True)
@click.pass_obj
def withdraw(client: Client, name: str, users: tuple[str, ...]) -> None:
    """Withdraw invitations to workshop NAME not yet answered (accepted: `remove`)."""
    delete_each(client, f"/workshops/{name}/invitations", users, "invitation withdrawn")


@workshop.command()
@click.argument("name")
@click.argument("users", nargs=-1, required=True)
@click.pass_obj
def remove(client: Client, name: str, users: tuple[str, ...]) -> None:
    """Remove participants from workshop NAME (they leave its group and quota)."""
    delete_each(client, f"/workshops/{name}/participants", users, "removed")


def delete_each(client: Client, collection: str, users: tuple[str, ...], done: str) -> None:
    """DELETE each user's entry in turn; the first refusal stops with its message."""
    for user in users:
        client.call("DELETE", f"{collection}/{user}")
        click.echo(f"{user}: {done}")


@workshop.command()
@click.argument("name")
@click.option("-n", "--count", type=int, required=True)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write user names and passwords here (they are shown only once).",
)
@click.pass_obj
def accounts(client: Client, name: str, count: int, csv_file: Path | None) -> None:
    """Create COUNT accounts that work until the workshop ends."""
    result = client.call("POST", f"/workshops/{name}/accounts", json={"count": count})
    if csv_file:
        fd = os.open(csv_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(result["csv"])
        click.echo(f"{count} accounts written to {csv_file}", err=True)
    else:
        sys.stdout.write(result["csv"])


@workshop.command()
@click.argument("name")
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.pass_obj
def upload(client: Client, name: str, source: Path) -> None:
    """Upload a zip (or a folder, zipped here) as the template set."""
    if source.is_dir():
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(source).as_posix())
        data = buffer.getvalue()
    else:
        data = source.read_bytes()
    out(
        client.call(
            "PUT",
            f"/workshops/{name}/template",
            data=data,
            headers={"Content-Type": "application/zip"},
        )
    )


@workshop.command()
@click.argument("name")
@click.pass_obj
def handout(client: Client, name: str) -> None:
    """Hand the templates out: running servers now, the others at their next start."""
    out(client.call("POST", f"/workshops/{name}/handout"))


@workshop.command()
@click.argument("name")
@click.argument("user")
@click.argument("path")
@click.pass_obj
def reset(client: Client, name: str, user: str, path: str) -> None:
    """Reset one participant's file to the template they received."""
    out(client.call("POST", f"/workshops/{name}/reset", json={"user": user, "path": path}))


@workshop.command()
@click.argument("name")
@click.option("--ends", required=True, help="New end time (accounts stop then).")
@click.pass_obj
def end(client: Client, name: str, ends: str) -> None:
    """Change when the workshop (and its accounts) end."""
    out(client.call("PATCH", f"/workshops/{name}", json={"ends_at": ends}))


if __name__ == "__main__":
    workshop(prog_name="sdl workshop")
