"""Lark / Feishu through the official SDK, lark-oapi (SPEC §8).

Reads, with a tenant access token the SDK obtains from LARK_APP_ID / LARK_APP_SECRET:
  GET /open-apis/im/v1/chats                     every chat the app is in (page_token / has_more)
  GET /open-apis/im/v1/chats/:chat_id/members    each chat's members as open_ids (page_token / has_more)
  GET /open-apis/contact/v3/users/batch          the people behind those open_ids, 50 at a time
Scopes: im:chat:readonly, contact:user.base:readonly, contact:user.email:readonly,
contact:user.employee:readonly. Lark answers errors in its envelope (`code` != 0, `msg`); its
frequency limit (code 99991400, or HTTP 429) is waited out within settings.max_wait_seconds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import lark_oapi as lark
import requests
from lark_oapi.api.contact.v3 import BatchUserRequest
from lark_oapi.api.im.v1 import GetChatMembersRequest, ListChatRequest
from lark_oapi.core.exception import ObtainAccessTokenException

from checker import __version__
from checker.platforms import ConnectorSettings, PlatformError
from checker.snapshot import Snapshot, SnapshotGroup, SnapshotPerson, now_utc

FREQUENCY_LIMIT = 99991400
PAGE_SIZE = 100
BATCH = 50  # contact/v3/users/batch takes at most 50 ids
MAX_PAGES = 100_000  # a cursor that never ends is an API fault, not a reason to loop forever
# contact/v3 employee_type: 1 regular, 2 intern, 3 outsourced, 4 labour dispatch, 5 consultant
EMPLOYMENT = {1: "employee", 2: "employee", 3: "vendor", 4: "contractor", 5: "contractor"}


class LarkConnector:
    platform = "lark"
    extra = "lark"

    def read(self, settings: ConnectorSettings) -> Snapshot:
        app_id = settings.environ.get("LARK_APP_ID")
        app_secret = settings.environ.get("LARK_APP_SECRET")
        if not app_id or not app_secret:
            raise PlatformError("lark: set LARK_APP_ID and LARK_APP_SECRET (a custom app's credentials)")
        domain = (settings.api_url or lark.LARK_DOMAIN).rstrip("/")
        client = (lark.Client.builder().app_id(app_id).app_secret(app_secret).domain(domain)
                  .log_level(lark.LogLevel.ERROR).build())
        api = _Api(client, settings.max_wait_seconds)
        groups: list[SnapshotGroup] = []
        names: dict[str, str] = {}  # open_id -> the name the member list shows (for accounts the directory lacks)
        for chat in api.pages("im/v1/chats", lambda token: client.im.v1.chat.list(
                ListChatRequest.builder().user_id_type("open_id").page_size(PAGE_SIZE).page_token(token).build())):
            members: list[str] = []
            for member in api.pages(f"im/v1/chats/{chat.chat_id}/members", _members_request(client, chat.chat_id)):
                if member.member_id and member.member_id not in members:
                    members.append(member.member_id)
                    names.setdefault(member.member_id, member.name or "")
            owner = chat.owner_id if chat.owner_id_type in (None, "open_id") and chat.owner_id else None
            groups.append(SnapshotGroup(chat.chat_id, chat.name or "", "chat", owner, tuple(members)))
        accounts = sorted({a for g in groups for a in (*g.members, *([g.owner] if g.owner else []))})
        people = api.people(accounts)
        directory = len(people)
        for account in accounts:  # guests from other tenants, bots: in the chat, not in the directory
            if account not in people:
                people[account] = SnapshotPerson(account, None, names.get(account) or None)
        return Snapshot(1, "lark", now_utc(), {"tenant": domain, "checker": __version__},
                        tuple(people[a] for a in accounts), tuple(groups),
                        (f"{len(accounts) - directory} accounts not in the directory (guests or other tenants): "
                         "attributes null",))


def _members_request(client: lark.Client, chat_id: str) -> Callable[[str], Any]:
    def call(token: str) -> Any:
        return client.im.v1.chat_members.get(GetChatMembersRequest.builder().chat_id(chat_id)
                                             .member_id_type("open_id").page_size(PAGE_SIZE)
                                             .page_token(token).build())
    return call


class _Api:
    """Lark's envelope, paging and frequency limit, around SDK calls."""

    def __init__(self, client: lark.Client, max_wait: float) -> None:
        self.client = client
        self.budget = max_wait

    def call(self, what: str, request: Callable[[], Any]) -> Any:
        while True:
            try:
                response = request()
            except ObtainAccessTokenException as exc:
                raise PlatformError(f"lark: cannot obtain a tenant access token: code {exc.code}: {exc.msg}"
                                    ) from None
            except requests.RequestException as exc:
                raise PlatformError(f"lark: {what}: {type(exc).__name__}: {exc}") from None
            status = getattr(response.raw, "status_code", 200)
            if response.code == FREQUENCY_LIMIT or status == 429:
                self._wait(what, response)
                continue
            if response.code is None:
                raise PlatformError(f"lark: {what}: HTTP {status}, not a Lark answer")
            if response.code != 0:
                raise PlatformError(f"lark: {what}: code {response.code}: {response.msg}")
            return response.data

    def _wait(self, what: str, response: Any) -> None:
        headers = {k.lower(): v for k, v in (getattr(response.raw, "headers", None) or {}).items()}
        try:
            seconds = max(float(headers.get("x-ogw-ratelimit-reset", 1)), 0.0)
        except ValueError:
            seconds = 1.0
        if seconds > self.budget:
            raise PlatformError(f"lark: {what}: frequency limit; waiting {seconds:g}s more would exceed the "
                                "bound on rate-limit waits")
        self.budget -= seconds
        time.sleep(seconds)

    def pages(self, what: str, request: Callable[[str], Any]) -> Iterator[Any]:
        token = ""
        for _ in range(MAX_PAGES):
            data = self.call(what, functools.partial(request, token))
            yield from data.items or ()
            if not data.has_more:
                return
            if not data.page_token or data.page_token == token:
                raise PlatformError(f"lark: {what}: has_more without a new page_token")
            token = data.page_token
        raise PlatformError(f"lark: {what}: more than {MAX_PAGES} pages")

    def people(self, accounts: list[str]) -> dict[str, SnapshotPerson]:
        found: dict[str, SnapshotPerson] = {}
        for start in range(0, len(accounts), BATCH):
            ids = accounts[start:start + BATCH]
            request = BatchUserRequest.builder().user_ids(ids).user_id_type("open_id").build()
            data = self.call("contact/v3/users/batch", functools.partial(self.client.contact.v3.user.batch, request))
            for user in data.items or ():
                if user.open_id in ids:
                    found[user.open_id] = _person(user)
        return found


def _person(user: Any) -> SnapshotPerson:
    status = None
    if user.status is not None:
        status = "departed" if user.status.is_resigned else "active"
    country = user.country if isinstance(user.country, str) and len(user.country) == 2 \
        and user.country.isalpha() and user.country.isupper() else None
    return SnapshotPerson(user.open_id, user.email or user.enterprise_email or None, user.name or None, country,
                          EMPLOYMENT.get(user.employee_type), status)
