"""A fake Lark / Feishu open platform on 127.0.0.1, to the documented shapes (open.larksuite.com docs):

  POST /open-apis/auth/v3/tenant_access_token/internal  {app_id, app_secret} -> {code, msg, tenant_access_token, expire}
  GET  /open-apis/im/v1/chats                  ?page_size&page_token -> {code, msg, data: {items, page_token, has_more}}
  GET  /open-apis/im/v1/chats/:id/members      ?member_id_type&page_size&page_token -> same envelope,
                                               items {member_id_type, member_id, name, tenant_key}
  GET  /open-apis/contact/v3/users/batch       ?user_ids=..&user_ids=..&user_id_type=open_id -> data.items [user]

Every call but the token needs `Authorization: Bearer <tenant token>`; errors are Lark's envelope
(`code` != 0, `msg`). Page sizes are honoured, so a test chooses how many pages there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from testing.fake_http import FakeApi, Reply, Request

TOKEN = "t-g1044ffakeTenantToken"
FREQUENCY_LIMIT = Reply(429, {"code": 99991400, "msg": "request trigger frequency limit"},
                        {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": "1"})


def scope_error(scope: str) -> Reply:
    return Reply(400, {"code": 99991672, "msg": f"Access denied. One of the following scopes is required: [{scope}]."})


@dataclass
class LarkTenant:
    app_id: str = "cli_a1fake"
    app_secret: str = "fake-secret"
    tenant_key: str = "736588c9260f175d"
    # {chat_id, name, owner_id, members: [(open_id, name, tenant_key)]}
    chats: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # open_id -> contact/v3 user


class FakeLark(FakeApi):
    def __init__(self, tenant: LarkTenant) -> None:
        super().__init__()
        self.tenant = tenant

    def answer(self, request: Request) -> Reply:
        path = request.path
        if path == "/open-apis/auth/v3/tenant_access_token/internal":
            body = request.body or {}
            if body.get("app_id") != self.tenant.app_id or body.get("app_secret") != self.tenant.app_secret:
                return Reply(400, {"code": 10014, "msg": "app secret invalid"})
            return Reply(200, {"code": 0, "msg": "ok", "tenant_access_token": TOKEN, "expire": 7200})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(400, {"code": 99991663, "msg": "Invalid access token for authorization. "
                                                         "Please make a request with token attached."})
        if path == "/open-apis/im/v1/chats":
            items = [{"chat_id": c["chat_id"], "avatar": "", "name": c["name"], "description": "",
                      "owner_id": c["owner_id"], "owner_id_type": "open_id", "external": False,
                      "tenant_key": self.tenant.tenant_key, "chat_status": "normal"} for c in self.tenant.chats]
            return self._page(request, items)
        if path.startswith("/open-apis/im/v1/chats/") and path.endswith("/members"):
            chat_id = path.split("/")[5]
            chat = next((c for c in self.tenant.chats if c["chat_id"] == chat_id), None)
            if chat is None:
                return Reply(400, {"code": 232010, "msg": "chat not found"})
            items = [{"member_id_type": "open_id", "member_id": m, "name": n, "tenant_key": t}
                     for m, n, t in chat["members"]]
            return self._page(request, items, member_total=len(items))
        if path == "/open-apis/contact/v3/users/batch":
            ids = request.query.get("user_ids", [])
            if len(ids) > 50:
                return Reply(400, {"code": 99992402, "msg": "field validation failed: user_ids at most 50"})
            items = [self.tenant.users[i] for i in ids if i in self.tenant.users]
            return Reply(200, {"code": 0, "msg": "success", "data": {"items": items}})
        return Reply(404, {"code": 404, "msg": "404 page not found"})

    @staticmethod
    def _page(request: Request, items: list[dict[str, Any]], **extra: Any) -> Reply:
        size = int((request.query.get("page_size") or ["20"])[0])
        start = int((request.query.get("page_token") or ["0"])[0] or 0)
        chunk = items[start:start + size]
        more = start + size < len(items)
        data = {"items": chunk, "page_token": str(start + size) if more else "", "has_more": more, **extra}
        return Reply(200, {"code": 0, "msg": "success", "data": data})


def user(open_id: str, name: str, email: str | None = None, enterprise_email: str | None = None,
         country: str | None = None, employee_type: int = 1, resigned: bool = False) -> dict[str, Any]:
    """A contact/v3 user as the API returns it (the fields the tenant's scopes expose)."""
    found: dict[str, Any] = {"open_id": open_id, "union_id": "on_" + open_id[3:], "user_id": open_id[3:11],
                             "name": name, "employee_type": employee_type,
                             "status": {"is_frozen": False, "is_resigned": resigned, "is_activated": not resigned,
                                        "is_exited": False, "is_unjoin": False},
                             "department_ids": ["od-4e6ac4d14bcd5071a37a39de902c7141"], "work_station": "Floor 3"}
    if email:
        found["email"] = email
    if enterprise_email:
        found["enterprise_email"] = enterprise_email
    if country:
        found["country"] = country
    return found
