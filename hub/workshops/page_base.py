"""The shell of the workshops pages: one look, forms that carry the XSRF token, and
a redirect that says what happened."""

from __future__ import annotations

from urllib.parse import quote

from hub.service.html import e, page_shell
from hub.workshops.base import WorkshopPageHandler

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


class PageHandler(WorkshopPageHandler):
    def page(self, title: str, body: str) -> str:
        message = self.get_argument("msg", "")
        note = f'<p class="msg" id="message">{e(message)}</p>' if message else ""
        nav = [(self.prefix, "Workshops"), ("/hub/home", "Hub home")]
        return page_shell(
            f"{title} — Workshops",
            note + body,
            style=STYLE,
            nav=nav,
            heading=title,
            nav_separator=" · ",
        )

    def error_page(self, status_code: int, message: str) -> tuple[str, str]:
        return "Refused", f'<p class="err" id="error">{e(message)}</p>'

    def form(self, action: str, inner: str, extra: str = "") -> str:
        token = self.xsrf_token.decode()  # tornado: always bytes
        return (
            f'<form method="post" action="{e(self.prefix + action)}" {extra}>'
            f'<input type="hidden" name="_xsrf" value="{e(token)}">'
            f"{inner}</form>"
        )

    def back(self, path: str, message: str) -> None:
        self.redirect(f"{self.prefix}{path}?msg={quote(message)}")
