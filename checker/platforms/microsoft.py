"""Microsoft 365 connector (SPEC §8): groups, owners, transitive members and users from Microsoft Graph.

Reads with msgraph-sdk (async, run with asyncio.run here) and azure-identity's client-credentials
flow (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET; AZURE_AUTHORITY_HOST for another
authority). Graph expands nested groups itself (transitiveMembers). The SDK's own retry handler is
switched off: 429/503/504 are waited out here, as Retry-After asks, within one bounded total time.
The records are turned into a snapshot by the pure `build_snapshot`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

from checker import __version__
from checker.platforms import ConnectorSettings, PlatformError, people
from checker.platforms.notes import capped, few
from checker.platforms.waiting import RetryBudget
from checker.snapshot import VERSION, Snapshot, SnapshotGroup, SnapshotPerson, now_utc

GRAPH = "https://graph.microsoft.com/v1.0"
NATIONAL_GRAPH_HOSTS = {"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
                        "microsoftgraph.chinacloudapi.cn"}
PAGE = 999  # the largest $top Graph takes for these collections: fewest round trips
CONCURRENCY = 8  # group reads in flight at once; Graph throttles per app and tenant, 429s are waited out
GROUP_SELECT = ["id", "displayName", "mail", "mailEnabled", "securityEnabled", "groupTypes",
                "resourceProvisioningOptions"]
USER_SELECT = ["id", "displayName", "mail", "userPrincipalName", "accountEnabled", "usageLocation", "country",
               "employeeType", "userType"]
MEMBER_SELECT = ["id", "displayName", "mail", "userPrincipalName"]
RETRY_STATUS = {429, 503, 504}


class MicrosoftConnector:
    platform = "microsoft"
    extra = "microsoft"

    def read(self, settings: ConnectorSettings) -> Snapshot:
        if settings.options:
            raise PlatformError("--owners does not apply to Microsoft 365: its groups name their owners")
        needed = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
        missing = [name for name in needed if not settings.environ.get(name)]
        if missing:
            raise PlatformError(f"Microsoft Graph needs {', '.join(missing)} in the environment "
                                "(an app registration's client credentials)")
        # azure-identity logs each failed token request as a warning; the PlatformError says it once.
        quiet = logging.getLogger("azure.identity")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            return asyncio.run(_read(settings))
        finally:
            quiet.setLevel(level)


@dataclass(frozen=True)
class Records:
    groups: list[dict[str, Any]]
    owners: dict[str, list[dict[str, Any]]]
    members: dict[str, list[dict[str, Any]]]
    users: list[dict[str, Any]]


async def _read(settings: ConnectorSettings) -> Snapshot:
    env = settings.environ
    ca = env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE")
    base = (settings.api_url or GRAPH).rstrip("/")
    host = urllib.parse.urlsplit(base).hostname or ""
    authority = env.get("AZURE_AUTHORITY_HOST") or None
    try:
        credential = ClientSecretCredential(
            env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"], authority=authority,
            **({"connection_verify": ca} if ca else {}))
    except ValueError as exc:  # a malformed tenant id or authority; the message names no secret
        raise PlatformError(f"Microsoft credentials: {exc}") from None
    try:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
    except OSError as exc:
        raise PlatformError(f"TLS trust {ca} (REQUESTS_CA_BUNDLE / SSL_CERT_FILE): cannot load: {exc}") from None
    async with credential, httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(60, connect=10)) as http:
        # Only the SDK's retry handler is off; the rest of its default middleware stays.
        client = GraphClientFactory.create_with_default_middleware(
            client=http, options={RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0, should_retry=False)})
        scope = f"https://{host}/.default" if host in NATIONAL_GRAPH_HOSTS else "https://graph.microsoft.com/.default"
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[scope], allowed_hosts=[host])
        adapter = GraphRequestAdapter(auth, client=client)
        adapter.base_url = base
        graph = Graph(GraphServiceClient(request_adapter=adapter), RetryBudget(settings.max_wait_seconds))
        records = await graph.records()
    source = {"tenant": env["AZURE_TENANT_ID"], "checker": __version__, "api": "microsoft graph v1.0",
              "requests": str(graph.requests)}
    return build_snapshot(records, now_utc(), source)


# ---------------------------------------------------------------- the API, with retries


class Graph:
    """Collections read through the SDK's request builders and request adapter (authentication, URL
    templates, middleware, ODataError mapping), answered as JSON: the SDK's model classes cost about
    30 ms per object to build (msgraph-sdk 1.x, measured here), 20,000 users would take ten minutes."""

    def __init__(self, client: GraphServiceClient, budget: RetryBudget) -> None:
        self.client = client
        self.budget = budget
        self.requests = 0

    async def records(self) -> Records:
        groups_api, users_api = self.client.groups, self.client.users
        groups = [_group_record(g) for g in await self._collect(
            groups_api, _query(groups_api.GroupsRequestBuilderGetQueryParameters, GROUP_SELECT), "groups")]
        users = [_user_record(u) for u in await self._collect(
            users_api, _query(users_api.UsersRequestBuilderGetQueryParameters, USER_SELECT), "users")]
        gate = asyncio.Semaphore(CONCURRENCY)
        owners: dict[str, list[dict[str, Any]]] = {}
        members: dict[str, list[dict[str, Any]]] = {}

        async def read_group(gid: str, shown: str) -> None:
            owners_api = self.client.groups.by_group_id(gid).owners
            members_api = self.client.groups.by_group_id(gid).transitive_members
            async with gate:
                owners[gid] = [_object_record(o) for o in await self._collect(
                    owners_api, _query(owners_api.OwnersRequestBuilderGetQueryParameters, MEMBER_SELECT),
                    f"owners of group {shown}")]
                members[gid] = [_object_record(o) for o in await self._collect(
                    members_api, _query(members_api.TransitiveMembersRequestBuilderGetQueryParameters, MEMBER_SELECT),
                    f"transitiveMembers of group {shown}")]

        tasks = [asyncio.create_task(read_group(g["id"], g["name"] or g["id"])) for g in groups if g["kind"]]
        try:
            await asyncio.gather(*tasks)
        finally:  # the first failure ends the snapshot; the other reads are not left running
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return Records(groups, owners, members, users)

    async def _collect(self, builder: Any, config: Any, what: str) -> list[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink to the end."""
        page = await self._page(builder.to_get_request_information(config), f"{what} (page 1)")
        items = list(page["value"])
        seen: set[str] = set()
        while isinstance(page.get("@odata.nextLink"), str):
            link = page["@odata.nextLink"]
            if link in seen:
                raise PlatformError(f"Microsoft Graph {what}: the same @odata.nextLink came back twice")
            seen.add(link)
            page = await self._page(builder.with_url(link).to_get_request_information(),
                                    f"{what} (page {len(seen) + 1})")
            items.extend(page["value"])
        return items

    async def _page(self, info: RequestInformation, what: str) -> dict[str, Any]:
        adapter = self.client.request_adapter
        raw = await self._call(lambda: adapter.send_primitive_async(info, "bytes", {"XXX": ODataError}), what)
        try:
            page = json.loads(raw)
        except (TypeError, ValueError):
            raise PlatformError(f"Microsoft Graph {what}: the answer is not JSON") from None
        if not isinstance(page, dict) or not isinstance(page.get("value"), list) or not all(
                isinstance(item, dict) and isinstance(item.get("id"), str) for item in page["value"]):
            raise PlatformError(f"Microsoft Graph {what}: the answer is not an OData collection of objects with ids")
        return page

    async def _call(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        attempt = 0
        while True:
            self.requests += 1
            try:
                result = await call()
            except APIError as exc:
                status = exc.response_status_code
                if status in RETRY_STATUS:
                    headers = {k.lower(): v for k, v in (exc.response_headers or {}).items()}
                    retry_after = headers.get("retry-after")
                    delay = self.budget.delay(_first(retry_after), attempt)
                    await asyncio.sleep(self.budget.take(delay, f"Microsoft Graph {what}"))
                    attempt += 1
                    continue
                raise PlatformError(f"Microsoft Graph {what}: HTTP {status} {_odata_message(exc)}") from None
            except ClientAuthenticationError as exc:
                raise PlatformError(f"Microsoft sign-in failed: {_first_line(exc.message)}") from None
            except (AzureError, httpx.HTTPError, OSError) as exc:
                raise PlatformError(f"Microsoft Graph {what}: cannot reach the API: {_first_line(str(exc))}") from None
            if result is None:
                raise PlatformError(f"Microsoft Graph {what}: empty answer")
            return result


def _query(parameters: Any, select: list[str]) -> RequestConfiguration[Any]:
    return RequestConfiguration(query_parameters=parameters(select=select, top=PAGE))


def _first(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no message"


def _odata_message(exc: APIError) -> str:
    error = getattr(exc, "error", None)
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    return f"{code}: {message}" if code else _first_line(exc.message or type(exc).__name__)


# ---------------------------------------------------------------- Graph JSON -> plain records


def _group_record(g: Mapping[str, Any]) -> dict[str, Any]:
    options = set(g.get("resourceProvisioningOptions") or [])
    unified = "Unified" in (g.get("groupTypes") or [])
    kind = "channel" if "Team" in options else "mailing-list" if (unified or g.get("mailEnabled")) else None
    return {"id": g["id"], "name": _text(g.get("displayName")), "mail": _text(g.get("mail")), "kind": kind}


def _user_record(u: Mapping[str, Any]) -> dict[str, Any]:
    enabled = u.get("accountEnabled")
    return {"id": u["id"], "name": _text(u.get("displayName")),
            "email": _text(u.get("mail")) or _text(u.get("userPrincipalName")),
            "enabled": enabled if isinstance(enabled, bool) else None,
            "location": _text(u.get("usageLocation")) or _text(u.get("country")),
            "employee_type": _text(u.get("employeeType")), "guest": str(u.get("userType") or "").lower() == "guest"}


def _object_record(o: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(o.get("@odata.type") or "").rsplit(".", 1)[-1]
    email = _text(o.get("mail")) or _text(o.get("userPrincipalName"))
    return {"id": o["id"], "type": kind, "email": email, "name": _text(o.get("displayName"))}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------- records -> snapshot (pure)


def build_snapshot(records: Records, taken_at: str, source: Mapping[str, str]) -> Snapshot:
    notes: list[str] = []
    persons = {u["id"]: _person(u) for u in records.users}
    unmapped = Counter(u["employee_type"] for u in records.users
                       if u["employee_type"] and not u["guest"] and persons[u["id"]].employment is None)
    notes.extend(f"{n} user(s) have employee type {label!r}, which maps to no employment (null)"
                 for label, n in sorted(unmapped.items()))
    skipped = [g for g in records.groups if g["kind"] is None]
    if skipped:
        notes.append(f"{len(skipped)} security group(s) without mail or Teams are not listed (still expanded where "
                     "nested)")
    out_groups = []
    ownerless: list[str] = []
    several: list[str] = []
    not_people: list[str] = []
    for g in sorted((g for g in records.groups if g["kind"]), key=lambda g: g["id"]):
        shown = g["name"] or g["id"]
        accounts: set[str] = set()
        others = 0
        for m in records.members.get(g["id"], []):
            if m["type"] == "group":
                continue  # Graph already listed its members
            if m["type"] not in ("user", "orgContact"):
                others += 1
                continue
            accounts.add(m["id"])
            if m["id"] not in persons:  # a contact, or a user the user list did not return
                persons[m["id"]] = SnapshotPerson(m["id"], m["email"], m["name"], None, None, None)
        if others:
            not_people.append(f"{shown} ({others})")
        listed_owners = records.owners.get(g["id"], [])
        owner = _owner(shown, listed_owners, persons, ownerless, several)
        accounts.update(o["id"] for o in listed_owners if o["type"] == "user")  # owners hold the group's access
        out_groups.append(SnapshotGroup(external_id=g["id"], name=shown, kind=g["kind"], owner=owner,
                                        members=tuple(sorted(accounts))))
    if not_people:
        notes.append(f"{len(not_people)} group(s) have members that are not people (devices, service principals), "
                     f"not listed: {few(not_people)}")
    if ownerless:
        notes.append(f"{len(ownerless)} group(s) have no owner that is a user (owner null): {few(ownerless)}")
    notes.extend(capped(several, "{} more group(s) have several owners"))
    return Snapshot(version=VERSION, platform="microsoft", taken_at=taken_at, source=dict(source),
                    people=tuple(sorted(persons.values(), key=lambda p: p.account)), groups=tuple(out_groups),
                    notes=tuple(notes))


def _owner(shown: str, owners: Sequence[Mapping[str, Any]], persons: dict[str, SnapshotPerson],
           ownerless: list[str], several: list[str]) -> str | None:
    people_owners = sorted(((o["email"] or o["id"]).lower(), o) for o in owners if o["type"] == "user")
    if not people_owners:
        ownerless.append(shown)
        return None
    if len(people_owners) > 1:
        rest = ", ".join(email for email, _ in people_owners[1:])
        several.append(f"group {shown} has {len(people_owners)} owners; owner is {people_owners[0][0]} "
                     f"(first by email), the others are members: {rest}")
    for _, o in people_owners:
        if o["id"] not in persons:
            persons[o["id"]] = SnapshotPerson(o["id"], o["email"], o["name"], None, None, None)
    return str(people_owners[0][1]["id"])


def _person(u: Mapping[str, Any]) -> SnapshotPerson:
    status = None if u["enabled"] is None else "active" if u["enabled"] else "departed"
    employment = None if u["guest"] else people.employment(u["employee_type"])
    return SnapshotPerson(account=u["id"], email=u["email"], name=u["name"], location=people.country(u["location"]),
                          employment=employment, status=status)
