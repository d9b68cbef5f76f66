"""Hub group names that policy reads (the features that create the groups import them)."""

from __future__ import annotations

#: Hub group of a workshop's participants: ws-<name>. Instructors write these groups'
#: quotas, so the quota model lets them only narrow what admins allow.
WORKSHOP_GROUP_PREFIX = "ws-"
