"""Workshops: instructors set up an event, let participants in and hand out notebooks.

A hub service (`hub.workshops.service`) owns the workshops, its own tables in the
`sdl_workshops` database and the versioned template sets in `<data_dir>/workshops`.
Instructors act only through it; it checks that they own the workshop they touch.
Files reach a participant's home only through `hub.workshops.handout`, run as that
participant's OS user, so nothing is ever written there with root's rights.
"""

from hub.policy.groups import WORKSHOP_GROUP_PREFIX

SERVICE_NAME = "workshops"
INSTRUCTORS_GROUP = "instructors"
GROUP_PREFIX = WORKSHOP_GROUP_PREFIX  # hub group of a workshop's participants: ws-<name>
