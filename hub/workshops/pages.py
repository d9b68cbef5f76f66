"""The workshops pages: the start page (an instructor's workshops, a user's invitations
and the workshops they take part in), joining, answering an invitation, syncing and
resetting one's own files; plain server-rendered HTML forms. The instructor's pages:
`hub.workshops.instructor_pages`.
"""

from __future__ import annotations

from datetime import timedelta

from tornado import web

from hub.service.html import e
from hub.workshops.instructor_pages import ActionPage, CreatePage, WorkshopPage
from hub.workshops.model import utcnow
from hub.workshops.page_base import PULL_NOTE, QUOTA_NOTE, SYNC_MESSAGE, PageHandler


class IndexPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        actor = await self.actor()
        parts = []
        if actor.instructor or actor.admin:
            workshops = await self.manager.listing(actor)
            rows = "".join(
                f'<tr><td><a href="{e(self.prefix)}w/{e(w.name)}">{e(w.name)}</a></td>'
                f"<td>{e(w.title)}</td><td>{w.ends_at:%Y-%m-%d %H:%M} UTC</td>"
                f"<td>{w.version}</td></tr>"
                for w in workshops
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
        parts.append(await self.invitations(actor.name))
        mine = await self.manager.mine(actor.name)
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

    async def invitations(self, username: str) -> str:
        """The invitations to answer, each with what taking part means; none: nothing."""
        items = []
        for inv in await self.manager.invitations(username):
            name = inv["workshop"]
            limits = ", ".join(inv["profiles"]) or "any profile"
            if inv["quota"]:
                limits += "; " + ", ".join(f"{k} {v}" for k, v in inv["quota"].items())
            verbs, mark = [("accept", "Accept"), ("decline", "Decline")], ""
            when = f"until {inv['ends_at'][:16]} UTC"
            if inv["ended"]:  # listed, to decline; accepting is refused (Invitations.accept)
                verbs, mark = verbs[1:], " class='ended'"
                when = f"ended at {inv['ends_at'][:16]} UTC, so it can no longer be joined"
            answer = "".join(
                self.form(f"me/invitations/{name}/{verb}", f"<button>{label}</button>")
                for verb, label in verbs
            )
            items.append(
                f"<li id='invitation-{e(name)}'{mark}><b>{e(name)}</b> ({e(inv['title'])}), "
                f"from {e(inv['invited_by'])}, {e(when)}: "
                f"{e(limits)}{answer}</li>"
            )
        if not items:
            return ""
        return (
            "<h2>Invitations</h2><p>Taking part puts you in the workshop's group: its "
            "profiles and quota apply to your servers until you leave it.</p>"
            f"<ul id='invitations'>{''.join(items)}</ul>"
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


class InvitationPage(PageHandler):
    """POST me/invitations/<name>/accept|decline: the invited user's own answer."""

    @web.authenticated
    async def post(self, name: str, answer: str) -> None:
        user = self.current_user["name"]
        if answer == "accept":
            await self.manager.accept(user, name)
            return self.back("", f"You joined {name}; its notebooks arrive in ~/workshops/{name}.")
        await self.manager.decline(user, name)
        self.back("", f"Invitation to {name} declined.")


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
        (rf"{prefix}me/invitations/{name}/(accept|decline)", InvitationPage),
        (rf"{prefix}me/reset", ResetMinePage),
        (rf"{prefix}me/sync", SyncPage),
    ]
