"""The quota service: REST API, admin console and user view, behind the hub's auth.

Runs as a managed JupyterHub service (`python -m hub.quotas`) at /services/quotas/.
Who may do what:

- any user with `access:services!service=quotas`: their own quota and usage;
- hub admins, and tokens/users holding `custom:quotas:read`: everyone's;
- hub admins, and holders of `custom:quotas:write`: change policies.

Cookie (browser) requests that change anything need the form's XSRF token; token
requests (Authorization header) do not.
"""

from __future__ import annotations

from tornado import web

from hub.quotas.console import page_routes
from hub.quotas.context import ServiceContext
from hub.quotas.rest import api_routes
from hub.quotas.store import KINDS
from hub.service.startup import service_app


def make_app(ctx: ServiceContext, cookie_secret: bytes) -> web.Application:
    p = ctx.prefix
    kind = "(" + "|".join(KINDS) + ")"
    name = r"([^/]+)"
    return service_app(
        p,
        [*page_routes(p, kind, name), *api_routes(p, kind, name)],
        cookie_secret,
        ctx=ctx,
        xsrf_cookie_name="_sdl_quotas_xsrf",  # never collide with the hub's _xsrf cookie
        xsrf_cookie_kwargs={"path": p},
    )
