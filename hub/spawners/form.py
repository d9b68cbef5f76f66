"""The spawn page's profile choice, as plain server-rendered HTML."""

from __future__ import annotations

from html import escape

from hub.profiles import Profile


def render_profile_form(profiles: list[Profile], username: str) -> str:
    if not profiles:
        return (
            f"<p>No profile is available to {escape(username)}. "
            "Ask an admin to add you to a group that has one.</p>"
        )
    default = next((p for p in profiles if p.default), profiles[0])
    items = []
    for profile in profiles:
        checked = " checked" if profile is default else ""
        items.append(
            f'<label class="sdl-profile" style="display:block;margin:0.5em 0">'
            f'<input type="radio" name="profile" value="{escape(profile.slug)}"{checked}> '
            f"<strong>{escape(profile.display_name)}</strong> "
            f'<span class="text-muted">{escape(profile.description)}</span></label>'
        )
    return '<div class="sdl-profiles">' + "".join(items) + "</div>"
