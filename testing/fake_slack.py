"""A fake Slack Web API on 127.0.0.1, to the documented method shapes (api.slack.com/methods):

  GET /api/users.list              ?cursor&limit -> {ok, members: [user], response_metadata: {next_cursor}}
  GET /api/conversations.list      ?types&exclude_archived&cursor&limit -> {ok, channels: [...], response_metadata}
  GET /api/conversations.members   ?channel&cursor&limit -> {ok, members: [user id], response_metadata}

Errors are {ok: false, error: ...} (missing_scope adds needed/provided); a rate limit is HTTP 429
with Retry-After. Every call needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from testing.fake_http import FakeApi, Reply, Request

RATE_LIMITED = Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})


def missing_scope(needed: str, provided: str = "channels:read,users:read") -> Reply:
    return Reply(200, {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided})


@dataclass
class SlackWorkspace:
    token: str = "xoxb-fake-0000-token"
    users: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)  # conversation objects plus "members": [ids]


class FakeSlack(FakeApi):
    def __init__(self, workspace: SlackWorkspace) -> None:
        super().__init__()
        self.workspace = workspace

    def answer(self, request: Request) -> Reply:
        if isinstance(request.body, dict):  # Slack takes arguments as query or form body alike
            request.query.update({k: [str(v)] for k, v in request.body.items()})
        if request.headers.get("authorization") != f"Bearer {self.workspace.token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        method = request.path.removeprefix("/api/")
        if method == "users.list":
            return self._page(request, "members", self.workspace.users)
        if method == "conversations.list":
            types = set((request.query.get("types") or ["public_channel"])[0].split(","))
            hide_archived = (request.query.get("exclude_archived") or [""])[0] in ("1", "true", "True")
            chosen = [{k: v for k, v in c.items() if k != "members"} for c in self.workspace.channels
                      if ("private_channel" if c["is_private"] else "public_channel") in types
                      and not (c["is_archived"] and hide_archived)]
            return self._page(request, "channels", chosen)
        if method == "conversations.members":
            channel = (request.query.get("channel") or [""])[0]
            found = next((c for c in self.workspace.channels if c["id"] == channel), None)
            if found is None:
                return Reply(200, {"ok": False, "error": "channel_not_found"})
            return self._page(request, "members", found["members"])
        return Reply(200, {"ok": False, "error": "unknown_method"})

    @staticmethod
    def _page(request: Request, key: str, items: list[Any]) -> Reply:
        limit = int((request.query.get("limit") or ["100"])[0])
        start = int((request.query.get("cursor") or ["0"])[0].removeprefix("dXNlcjo") or 0)
        chunk = items[start:start + limit]
        cursor = f"dXNlcjo{start + limit}" if start + limit < len(items) else ""
        return Reply(200, {"ok": True, key: chunk, "response_metadata": {"next_cursor": cursor}})


def channel(cid: str, name: str, creator: str, members: list[str], private: bool = False,
            archived: bool = False) -> dict[str, Any]:
    return {"id": cid, "name": name, "is_channel": not private, "is_group": private, "is_im": False,
            "is_private": private, "is_archived": archived, "is_general": False, "created": 1449252889,
            "creator": creator, "is_shared": False, "is_org_shared": False, "is_ext_shared": False,
            "num_members": len(members), "members": members}


def slack_user(uid: str, name: str, email: str | None = None, deleted: bool = False, bot: bool = False,
               restricted: bool = False, ultra_restricted: bool = False) -> dict[str, Any]:
    profile: dict[str, Any] = {"real_name": name, "display_name": name.split()[0]}
    if email:
        profile["email"] = email
    return {"id": uid, "team_id": "T0FAKE", "name": name.lower().replace(" ", "."), "deleted": deleted,
            "real_name": name, "tz": "America/Los_Angeles", "is_admin": False, "is_owner": False,
            "is_bot": bot, "is_app_user": False, "is_restricted": restricted or ultra_restricted,
            "is_ultra_restricted": ultra_restricted, "profile": profile}
