"""Slack through the official SDK, slack-sdk (SPEC §8).

Reads, with the token in SLACK_TOKEN (scopes channels:read, groups:read, users:read,
users:read.email):
  conversations.list     public and private channels, not archived (cursor pagination)
  conversations.members  each channel's member ids (cursor pagination)
  users.list             every user: profile.email, deleted, is_restricted / is_ultra_restricted, is_bot
A channel's owner is its creator unless settings.options maps its id to another user id. HTTP 429
is waited out by the SDK's RateLimitErrorRetryHandler, within settings.max_wait_seconds in total.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from checker import __version__
from checker.platforms import ConnectorSettings, PlatformError
from checker.snapshot import Snapshot, SnapshotGroup, SnapshotPerson, now_utc

PAGE_SIZE = 200  # Slack recommends at most 200 per page
MAX_PAGES = 100_000
MAX_RETRIES = 20


class _BoundedRateLimitHandler(RateLimitErrorRetryHandler):
    """The SDK's own 429 handler (it sleeps Retry-After), refusing waits beyond a total budget."""

    def __init__(self, budget: float) -> None:
        super().__init__(max_retry_count=MAX_RETRIES)
        self.budget = budget

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            wait = float(values[0]) + 1  # the handler adds up to a second of jitter
        except (ValueError, IndexError):
            wait = 2.0
        if wait > self.budget:
            return False
        self.budget -= wait
        return True


class SlackConnector:
    platform = "slack"
    extra = "slack"

    def read(self, settings: ConnectorSettings) -> Snapshot:
        token = settings.environ.get("SLACK_TOKEN")
        if not token:
            raise PlatformError("slack: set SLACK_TOKEN (a bot or user token with channels:read, groups:read, "
                                "users:read, users:read.email)")
        base = (settings.api_url or "https://slack.com/api").rstrip("/") + "/"
        client = WebClient(token=token, base_url=base, timeout=60,
                           retry_handlers=[_BoundedRateLimitHandler(settings.max_wait_seconds)])
        users: dict[str, SnapshotPerson] = {}
        bots: set[str] = set()
        guests = 0
        for user in _pages(client, "users.list", "members"):
            if user.get("is_bot") or user.get("id") == "USLACKBOT":
                bots.add(user["id"])
                continue
            guests += bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
            users[user["id"]] = _person(user)
        groups: list[SnapshotGroup] = []
        bot_members = 0
        for channel in _pages(client, "conversations.list", "channels", types="public_channel,private_channel",
                              exclude_archived=True):
            members: list[str] = []
            for member in _pages(client, "conversations.members", "members", channel=channel["id"]):
                if member in bots:
                    bot_members += 1
                elif member not in members:
                    members.append(member)
            owner = settings.options.get(channel["id"]) or channel.get("creator") or None
            groups.append(SnapshotGroup(channel["id"], channel.get("name") or "", "channel", owner, tuple(members)))
        people = dict(users)
        accounts = {a for g in groups for a in (*g.members, *([g.owner] if g.owner else []))}
        external = sorted(a for a in accounts if a not in users)
        for account in external:  # Slack Connect members of other workspaces: not in users.list
            people[account] = SnapshotPerson(account)
        notes = [f"{len(bots)} bots skipped ({bot_members} channel memberships of bots)",
                 f"{guests} guests (restricted accounts): employment null"]
        if external:
            notes.append(f"{len(external)} accounts from other workspaces: attributes null")
        return Snapshot(1, "slack", now_utc(), {"tenant": base, "checker": __version__},
                        tuple(people[a] for a in sorted(people)), tuple(groups), tuple(notes))


def _pages(client: WebClient, method: str, key: str, **params: Any) -> Iterator[Any]:
    cursor = ""
    for _ in range(MAX_PAGES):
        try:
            response = client.api_call(method, http_verb="GET",
                                       params={**params, "limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})})
        except SlackApiError as exc:
            raise PlatformError(f"slack: {method}: {_describe(exc)}") from None
        except (SlackClientError, OSError) as exc:
            raise PlatformError(f"slack: {method}: {type(exc).__name__}: {exc}") from None
        yield from response.get(key) or ()
        following = (response.get("response_metadata") or {}).get("next_cursor") or ""
        if not following:
            return
        if following == cursor:
            raise PlatformError(f"slack: {method}: the same next_cursor twice")
        cursor = following
    raise PlatformError(f"slack: {method}: more than {MAX_PAGES} pages")


def _describe(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = data.get("error") or f"HTTP {exc.response.status_code}"
    if error == "missing_scope":
        return f"missing_scope: the token lacks {data.get('needed')} (it has {data.get('provided')})"
    if exc.response.status_code == 429:
        return "ratelimited: Retry-After waits would exceed the bound on rate-limit waits"
    return str(error)


def _person(user: dict[str, Any]) -> SnapshotPerson:
    """Slack says nothing of location or employment: both null (for guests, is_restricted or
    is_ultra_restricted, above all), so the policies treat them as unknown."""
    profile = user.get("profile") or {}
    return SnapshotPerson(user["id"], profile.get("email") or None, profile.get("real_name") or user.get("name"),
                          None, None, "departed" if user.get("deleted") else "active")
