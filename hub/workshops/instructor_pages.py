"""The instructor's pages: create a workshop, its page, and each of its forms.

Every form posts back here (with the service's XSRF token) and lands on a page that
says what happened; the same `Manager` calls as the REST API do the work.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from tornado import web

from hub.errors import NotFound
from hub.service.html import e
from hub.workshops.model import TemplateChoice, nbgitpuller_link, utcnow
from hub.workshops.page_base import QUOTA_NOTE, PageHandler


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
        status = await self.manager.status(await self.actor(), name)
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
        invited = "".join(  # existing users who have not answered yet
            f"<li id='invited-{e(u)}'>{e(u)} "
            + self.form(
                f"w/{name}/withdraw",
                f'<input type="hidden" name="user" value="{e(u)}">'
                f'<button id="withdraw-{e(u)}">Withdraw</button>',
            )
            + "</li>"
            for u in status["invited"]
        )
        if invited:
            body += f"<p>Invited, not answered yet:</p><ul id='invited'>{invited}</ul>"
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
            result = await m.add_participants(actor, name, arg("users", "").split())
            message = f"Added {len(result['added'])} participants."
            if result["invited"]:  # existing users: they accept on their workshops page
                message += (
                    f" Invited {', '.join(result['invited'])}: they already have an account, "
                    "so they take part once they accept on their workshops page."
                )
            return self.back(f"w/{name}", message)
        if action == "withdraw":
            user = arg("user", "")
            await m.withdraw(actor, name, user)
            return self.back(f"w/{name}", f"Invitation of {user} withdrawn.")
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
        raise NotFound(f"no action {action!r} on a workshop page")

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
