"""The instructor and participant pages: plain server-rendered HTML forms.

Every form posts back here (with JupyterHub's XSRF token) and lands on a page that
says what happened; the same `Manager` calls as the REST API do the work.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from html import escape
from typing import Any, Literal
from urllib.parse import quote

from tornado import web

from hub.workshops.base import BaseHandler
from hub.workshops.model import TemplateChoice, WorkshopError, nbgitpuller_link, utcnow

STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:1.5rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
form{margin:.5rem 0}fieldset{margin:1rem 0}.msg{background:#e8f5e9;padding:.5rem}
.err{background:#fdecea;padding:.5rem}.conflict{color:#b71c1c}code{background:#f3f3f3}"""

QUOTA_NOTE = (
    "The profiles (empty: any) and the quota limit participants through this workshop's "
    "group. Quotas combine most generously: a participant whose other groups allow more "
    "(other profiles, more CPU) keeps that. Accounts made for the workshop stop working "
    "at its end time; participants who joined with their own account keep it."
)


PULL_NOTE = (
    "Handed-out notebooks arrive in your workspace when your server starts: restart your "
    "server, or click Sync."
)
SYNC_MESSAGE = (
    "Your server fetches the handed-out notebooks each time it starts. To get them now, "
    "stop your server (Hub home → Stop My Server, or File → Hub Control Panel in "
    "JupyterLab) and start it again. Files you changed are kept; new versions go beside them."
)


def e(value: Any) -> str:
    return escape(str(value), quote=True)


class PageHandler(BaseHandler):
    def render_page(self, title: str, body: str, status: int = 200) -> None:
        message = self.get_argument("msg", "")
        note = f'<p class="msg" id="message">{e(message)}</p>' if message else ""
        self.set_status(status)
        self.finish(f"""<!doctype html><html><head><meta charset="utf-8">
<title>{e(title)} — Workshops</title><style>{STYLE}</style></head><body>
<p><a href="{e(self.prefix)}">Workshops</a> · <a href="/hub/home">Hub home</a></p>
<h1>{e(title)}</h1>{note}{body}</body></html>""")

    def form(self, action: str, inner: str, extra: str = "") -> str:
        token = self.xsrf_token.decode()  # tornado: always bytes
        return (
            f'<form method="post" action="{e(self.prefix + action)}" {extra}>'
            f'<input type="hidden" name="_xsrf" value="{e(token)}">'
            f"{inner}</form>"
        )

    def back(self, path: str, message: str) -> None:
        self.redirect(f"{self.prefix}{path}?msg={quote(message)}")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        text = str(exc) if isinstance(exc, WorkshopError) else self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            text = exc.log_message
        self.render_page("Refused", f'<p class="err" id="error">{e(text)}</p>', status_code)

    def _handle_request_exception(self, exc: BaseException) -> None:
        if isinstance(exc, WorkshopError):
            self.send_error(exc.status, exc_info=(type(exc), exc, exc.__traceback__))
            return
        super()._handle_request_exception(exc)


class IndexPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        actor = await self.actor()
        parts = []
        if actor.instructor or actor.admin:
            rows = "".join(
                f'<tr><td><a href="{e(self.prefix)}w/{e(w.name)}">{e(w.name)}</a></td>'
                f"<td>{e(w.title)}</td><td>{w.ends_at:%Y-%m-%d %H:%M} UTC</td>"
                f"<td>{w.version}</td></tr>"
                for w in self.manager.listing(actor)
            )
            now = utcnow()
            parts.append(
                "<h2>Your workshops</h2><table id='workshops'><tr><th>Name</th><th>Title</th>"
                f"<th>Ends</th><th>Version</th></tr>{rows}</table><h2>New workshop</h2>"
                + self.form(
                    "create",
                    f"""
<p><label>Name <input name="name" required pattern="[a-z][a-z0-9-]{{1,28}}[a-z0-9]"></label>
<label>Title <input name="title"></label></p>
<p><label>Starts <input name="starts_at" value="{now:%Y-%m-%dT%H:%M}"></label>
<label>Ends <input name="ends_at" value="{now + timedelta(days=1):%Y-%m-%dT%H:%M}"></label>
(UTC, or +3h)</p>
<p><label>Profiles <input name="profiles" placeholder="small, medium"></label>
<label><input type="checkbox" name="join_code" value="1"> join code</label></p>
<p id="quota-note">{QUOTA_NOTE}</p>
<p><button id="create-button">Create workshop</button></p>""",
                    'id="create-form"',
                )
            )
        mine = self.manager.mine(actor.name)
        items = []
        for item in mine:
            name = item["workshop"]["name"]
            conflicts = "".join(
                f'<li class="conflict">{e(mine_)} — new version in {e(beside)} '
                + self.form(
                    "me/reset",
                    f'<input type="hidden" name="workshop" value="{e(name)}">'
                    f'<input type="hidden" name="path" value="{e(mine_)}">'
                    f"<button>Reset {e(mine_)} to the template</button>",
                )
                + "</li>"
                for mine_, beside in item["conflicts"].items()
            )
            folder = f"<code>~/workshops/{e(name)}</code>"
            if self.manager.pull:  # no reset from here: the service cannot write into homes
                conflicts = "".join(
                    f'<li class="conflict">{e(mine_)} — new version in {e(beside)}</li>'
                    for mine_, beside in item["conflicts"].items()
                )
                handed = item["workshop"]["version"]
                if handed > item["version"]:
                    conflicts += (
                        f"<li class='pending'>Version {handed} was handed out: it "
                        "arrives when your server next starts.</li>"
                    )
            items.append(
                f"<li><b>{e(name)}</b>: version {item['version']} in {folder}"
                f"<ul>{conflicts}</ul></li>"
            )
        parts.append(f"<h2>Workshops you take part in</h2><ul id='mine'>{''.join(items)}</ul>")
        if self.manager.pull and mine:
            parts.append(
                self.form("me/sync", f'<p>{PULL_NOTE} <button id="sync-button">Sync</button></p>')
            )
        parts.append(
            self.form("join", '<label>Join code <input name="code"></label> <button>Join</button>')
        )
        self.render_page("Workshops", "".join(parts))


class CreatePage(PageHandler):
    @web.authenticated
    async def post(self) -> None:
        arg = self.get_body_argument
        document = {
            "name": arg("name", ""),
            "title": arg("title", ""),
            "starts_at": arg("starts_at", "") or utcnow(),
            "ends_at": arg("ends_at", ""),
            "profiles": [p.strip() for p in arg("profiles", "").split(",") if p.strip()],
            "join_code": arg("join_code", "") == "1",
        }
        workshop = await self.manager.create(await self.actor(), document)
        self.back(f"w/{workshop.name}", f"Workshop {workshop.name} created.")


class WorkshopPage(PageHandler):
    @web.authenticated
    async def get(self, name: str) -> None:
        status = self.manager.status(await self.actor(), name)
        w = status["workshop"]
        rows = "".join(
            f"<tr><td>{e(p['username'])}</td><td>{e(p['via'])}</td><td>{p['version']}</td>"
            f"<td class='conflict'>{e(', '.join(p['conflicts']))}</td><td>{e(p['error'])}</td>"
            "</tr>"
            for p in status["participants"]
        )
        source = {
            "builtin": "the built-in templates",
            "upload": "an uploaded set",
            "git": f"git {w['template_url']} {w['template_ref']}",
        }[w["template_kind"]]
        link = ""
        if w["template_kind"] == "git":
            url = nbgitpuller_link(self.manager.public_url, w["template_url"], w["template_ref"])
            link = f'<p>nbgitpuller link: <a id="nbgitpuller" href="{e(url)}">{e(url)}</a></p>'
        code = f"<p>Join code: <code id='join-code'>{e(w['join_code'])}</code></p>" * bool(
            w["join_code"]
        )
        body = f"""<p>{e(w["title"])} · {e(w["starts_at"])} → {e(w["ends_at"])} · group
<code>{e(w["group"])}</code> · profiles {e(", ".join(w["profiles"]) or "any")} · owner
{e(w["owner"])}</p>{code}<p>Templates: {e(source)} ({e(w["template_note"])}); version
handed out: <b id="version">{w["version"]}</b></p>{link}<p>{QUOTA_NOTE}</p>
<h2>Participants</h2><table id="participants"><tr><th>User</th><th>Joined by</th>
<th>Version</th><th>Conflicts</th><th>Problem</th></tr>{rows}</table>"""
        when = "(running servers now, the others at their next start)"
        if self.manager.pull:
            when = (
                f"(Kubernetes: the {len(status['participants'])} participants receive it at "
                "their next server start; running servers keep what they have until "
                "restarted)"
            )
        body += self.form(
            f"w/{name}/handout",
            f'<button id="handout-button">Hand out the templates</button> {e(when)}',
        )
        body += (
            "<fieldset><legend>Participants</legend>"
            + self.form(
                f"w/{name}/participants",
                '<label>User names (one per line) <textarea name="users">'
                '</textarea></label> <button id="add-button">Add</button>',
            )
            + self.form(
                f"w/{name}/accounts",
                '<label>Pre-created accounts <input name="count" type="number"'
                ' min="1" max="200" value="10"></label> <button id="accounts-button">Create'
                "</button>",
            )
            + "</fieldset>"
        )
        enc = 'enctype="multipart/form-data"'
        body += (
            "<fieldset><legend>Template set</legend>"
            + self.form(
                f"w/{name}/upload",
                '<label>Zip <input type="file" name="zip" accept=".zip">'
                '</label> <button id="upload-button">Upload</button>',
                enc,
            )
            + self.form(
                f"w/{name}/upload",
                '<label>Folder <input type="file" name="files" webkitdirectory '
                "multiple></label> <button>Upload folder</button>",
                enc,
            )
            + self.form(
                f"w/{name}/git",
                '<label>Git URL <input name="url"></label> <label>Branch <input '
                'name="ref"></label> <button>Use git</button>',
            )
            + self.form(f"w/{name}/builtin", "<button>Use the built-in templates</button>")
            + "</fieldset>"
        )
        body += (
            "<fieldset><legend>Reset a participant's file</legend>"
            + (
                self.form(
                    f"w/{name}/reset",
                    '<label>User <input name="user"></label> <label>File <input '
                    'name="path"></label> <button>Reset</button>',
                )
                if not self.manager.pull
                else "<p>Not on Kubernetes: a participant copies the new version from beside their "
                "file.</p>"
            )
            + "</fieldset>"
        )
        body += (
            "<fieldset><legend>Time</legend>"
            + self.form(
                f"w/{name}/update",
                f'<label>Ends <input name="ends_at" value="{e(w["ends_at"])}">'
                "</label> <button>Change</button> (accounts stop working then)",
            )
            + self.form(f"w/{name}/delete", "<button>Delete this workshop</button>")
            + "</fieldset>"
        )
        self.render_page(f"Workshop {name}", body)


class ActionPage(PageHandler):
    """POST w/<name>/<action>: one form of the workshop page."""

    @web.authenticated
    async def post(self, name: str, action: str) -> None:
        actor, m, arg = await self.actor(), self.manager, self.get_body_argument
        if action == "handout":
            result = await m.handout(actor, name)
            if m.pull:
                return self.back(
                    f"w/{name}",
                    f"Version {result['version']} handed out: "
                    f"{result['at_next_start']} participants will receive it at "
                    "their next server start.",
                )
            return self.back(
                f"w/{name}",
                f"Version {result['version']} handed out to "
                f"{len(result['delivered'])} running servers; "
                f"{len(result['pending'])} get it at their next start.",
            )
        if action == "participants":
            added = await m.add_participants(actor, name, arg("users", "").split())
            return self.back(f"w/{name}", f"Added {len(added)} participants.")
        if action == "accounts":
            count = int(arg("count", "0") or 0)
            return self.show_accounts(name, await m.create_accounts(actor, name, count))
        if action == "upload":
            self.check_body_size()
            uploads = self.request.files
            if uploads.get("zip") and uploads["zip"][0].body:
                await m.upload(actor, name, uploads["zip"][0].body, [])
            else:
                files = [(f.filename, f.body) for f in uploads.get("files", [])]
                await m.upload(actor, name, None, files)
            return self.back(f"w/{name}", "Template set uploaded; hand it out when ready.")
        if action in ("git", "builtin"):
            kind: Literal["git", "builtin"] = "git" if action == "git" else "builtin"
            choice = TemplateChoice(kind=kind, url=arg("url", ""), ref=arg("ref", ""))
            await m.set_template(actor, name, choice)
            return self.back(f"w/{name}", f"Templates now come from {action}.")
        if action == "reset":
            report = await m.reset(actor, name, arg("user", ""), arg("path", ""))
            return self.back(f"w/{name}", f"{report['reset']} reset to the template.")
        if action == "update":
            await m.update(actor, name, {"ends_at": arg("ends_at", "")})
            return self.back(f"w/{name}", "End time changed.")
        if action == "delete":
            await m.delete(actor, name)
            return self.back("", f"Workshop {name} deleted.")
        raise web.HTTPError(404)

    def show_accounts(self, name: str, result: dict[str, Any]) -> None:
        rows = "".join(
            f"<tr><td>{e(a['username'])}</td><td><code>{e(a['password'])}</code></td></tr>"
            for a in result["accounts"]
        )
        data = base64.b64encode(result["csv"].encode()).decode()
        self.set_header("Cache-Control", "no-store")
        self.render_page(
            f"Accounts for {name}",
            f"""<p class="err">These passwords are shown
only now. Download or print them before leaving this page. They work until
{e(result["valid_until"])}.</p><p><a id="csv-download" download="{e(name)}-accounts.csv"
href="data:text/csv;base64,{data}">Download CSV</a> ·
<a href="{e(self.prefix)}w/{e(name)}">Back to the workshop</a></p>
<table id="accounts"><tr><th>User</th><th>Password</th></tr>{rows}</table>""",
        )


class JoinPage(PageHandler):
    @web.authenticated
    async def post(self) -> None:
        workshop = await self.manager.join(
            self.current_user["name"], self.get_body_argument("code", "")
        )
        self.back(
            "", f"You joined {workshop.name}; its notebooks arrive in ~/workshops/{workshop.name}."
        )


class SyncPage(PageHandler):
    """The participant's Sync button: says how materials reach a running server."""

    @web.authenticated
    async def post(self) -> None:
        self.back("", SYNC_MESSAGE)


class ResetMinePage(PageHandler):
    @web.authenticated
    async def post(self) -> None:
        actor = await self.actor()
        name, path = self.get_body_argument("workshop", ""), self.get_body_argument("path", "")
        report = await self.manager.reset(actor, name, actor.name, path)
        self.back("", f"{report['reset']} reset to the template.")


def page_routes(prefix: str) -> list[tuple[str, type]]:
    name = r"([a-z][a-z0-9-]{1,28}[a-z0-9])"
    return [
        (rf"{prefix}?", IndexPage),
        (rf"{prefix}create", CreatePage),
        (rf"{prefix}w/{name}", WorkshopPage),
        (rf"{prefix}w/{name}/([a-z]+)", ActionPage),
        (rf"{prefix}join", JoinPage),
        (rf"{prefix}me/reset", ResetMinePage),
        (rf"{prefix}me/sync", SyncPage),
    ]
