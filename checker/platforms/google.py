"""Google Workspace connector (SPEC §8): groups, owners, members and users from the Admin SDK Directory API.

Reads with google-api-python-client (the discovery document shipped with the library, so building the
client needs no network) and google-auth: a service-account key from GOOGLE_APPLICATION_CREDENTIALS,
with domain-wide delegation when `--subject ADMIN_EMAIL` is given, or application-default credentials.
Only the read-only Directory scopes are requested. The API's records are turned into a snapshot by the
pure `build_snapshot`; nested groups are expanded here (the API lists direct members).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import google.auth
import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from checker import __version__
from checker.platforms import ConnectorSettings, PlatformError, people
from checker.platforms.nesting import expand
from checker.platforms.notes import capped, few
from checker.platforms.waiting import RetryBudget
from checker.snapshot import VERSION, Snapshot, SnapshotGroup, SnapshotPerson, now_utc

SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
)
# Largest pages the API allows (documented maxima): fewer round trips, same data.
GROUP_PAGE, MEMBER_PAGE, USER_PAGE = 200, 200, 500
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
# Where a tenant keeps employment or country in a custom schema: SCHEMA.FIELD in these variables.
CUSTOM_FIELDS = {"employment-field": "CHECKER_GOOGLE_EMPLOYMENT_FIELD",
                 "location-field": "CHECKER_GOOGLE_LOCATION_FIELD"}
USER_FIELDS = "id,primaryEmail,name/fullName,suspended,archived,addresses,organizations,customSchemas"


class GoogleConnector:
    platform = "google"
    extra = "google"

    def read(self, settings: ConnectorSettings) -> Snapshot:
        if settings.options:
            raise PlatformError("--owners does not apply to Google: its groups name their OWNERs")
        budget = RetryBudget(settings.max_wait_seconds)
        directory = Directory(_service(settings), budget)
        groups = list(directory.groups())
        members = {g["id"]: directory.members(g["id"], g.get("email", g["id"])) for g in groups}
        _fetch_outside_groups(directory, members)
        custom = {key: settings.environ[var] for key, var in CUSTOM_FIELDS.items() if settings.environ.get(var)}
        users = list(directory.users(sorted({v.split(".")[0] for v in custom.values()})))
        source = {"tenant": "my_customer", "checker": __version__, "api": "admin directory_v1",
                  "requests": str(directory.requests)}
        return build_snapshot(groups, members, users, custom, now_utc(), source)


# ---------------------------------------------------------------- the API, with retries


class Directory:
    """Paged reads of the Directory API; every failure is a PlatformError naming the call."""

    def __init__(self, service: Any, budget: RetryBudget) -> None:
        self.service = service
        self.budget = budget
        self.requests = 0

    def groups(self) -> Iterator[dict[str, Any]]:
        collection = self.service.groups()
        request = collection.list(customer="my_customer", maxResults=GROUP_PAGE,
                                  fields="nextPageToken,groups(id,email,name)")
        yield from self._pages(collection, request, "groups", "groups.list")

    def members(self, group_key: str, shown: str) -> list[dict[str, Any]]:
        collection = self.service.members()
        request = collection.list(groupKey=group_key, maxResults=MEMBER_PAGE,
                                  fields="nextPageToken,members(id,email,role,type)")
        return list(self._pages(collection, request, "members", f"members.list of group {shown}"))

    def users(self, schemas: Sequence[str]) -> Iterator[dict[str, Any]]:
        collection = self.service.users()
        extra: dict[str, str] = {"projection": "custom", "customFieldMask": ",".join(schemas)} if schemas else {}
        request = collection.list(customer="my_customer", maxResults=USER_PAGE,
                                  fields=f"nextPageToken,users({USER_FIELDS})", **extra)
        yield from self._pages(collection, request, "users", "users.list")

    def _pages(self, collection: Any, request: Any, key: str, what: str) -> Iterator[dict[str, Any]]:
        page = 0
        while request is not None:
            page += 1
            response = self._execute(request, f"{what} (page {page})")
            items = response.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str)
                                                      for i in items):
                raise PlatformError(f"Google Directory API {what} (page {page}): unusable answer: "
                                    f"{key} is not a list of resources with ids")
            yield from items
            request = collection.list_next(request, response)

    def _execute(self, request: Any, what: str) -> dict[str, Any]:
        attempt = 0
        while True:
            self.requests += 1
            try:
                response: dict[str, Any] = request.execute(num_retries=0)
                return response
            except HttpError as exc:
                if not _rate_limited(exc):
                    raise PlatformError(f"Google Directory API {what}: {_describe(exc)}") from None
                self.budget.wait(self.budget.delay(exc.resp.get("retry-after"), attempt), f"Google {what}")
                attempt += 1
            except google.auth.exceptions.GoogleAuthError as exc:
                raise PlatformError(f"Google sign-in failed for {what}: {_auth_message(exc)}") from None
            except (httplib2.HttpLib2Error, OSError) as exc:
                raise PlatformError(f"Google Directory API {what}: cannot reach the API: {exc}") from None
            except ValueError as exc:  # a body that is not JSON
                raise PlatformError(f"Google Directory API {what}: unusable answer: {exc}") from None


def _rate_limited(exc: HttpError) -> bool:
    if exc.resp.status in (429, 503):
        return True
    reasons = {d.get("reason") for d in (exc.error_details or []) if isinstance(d, dict)}
    return exc.resp.status == 403 and bool(reasons & RATE_LIMIT_REASONS)


def _describe(exc: HttpError) -> str:
    reasons = sorted({str(d.get("reason")) for d in (exc.error_details or []) if isinstance(d, dict)
                      and d.get("reason")})
    return f"HTTP {exc.resp.status} {exc.reason}" + (f" ({', '.join(reasons)})" if reasons else "")


def _auth_message(exc: Exception) -> str:
    # google-auth puts the token endpoint's JSON answer in args; error and description carry no secret.
    for arg in exc.args:
        if isinstance(arg, Mapping) and "error" in arg:
            return f"{arg.get('error')}: {arg.get('error_description', '')}".rstrip(": ")
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _fetch_outside_groups(directory: Directory, members: dict[str, list[dict[str, Any]]]) -> None:
    """Groups nested in ours that groups.list did not return (another customer's): read them too."""
    pending = [m["id"] for ms in members.values() for m in ms if m.get("type") == "GROUP" and m["id"] not in members]
    while pending:
        gid = pending.pop()
        if gid in members:
            continue
        members[gid] = directory.members(gid, gid)
        pending.extend(m["id"] for m in members[gid] if m.get("type") == "GROUP" and m["id"] not in members)


# ---------------------------------------------------------------- credentials and client


def _service(settings: ConnectorSettings) -> Any:
    credentials = _credentials(settings)
    ca = settings.environ.get("REQUESTS_CA_BUNDLE") or settings.environ.get("SSL_CERT_FILE")
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=60, ca_certs=ca))
    options = {"api_endpoint": settings.api_url} if settings.api_url else None
    try:
        return discovery.build("admin", "directory_v1", http=http, static_discovery=True, cache_discovery=False,
                               client_options=options)
    except Exception as exc:  # the shipped discovery document missing: a broken install
        raise PlatformError(f"cannot build the Directory API client: {exc}") from None


def _credentials(settings: ConnectorSettings) -> Any:
    path = settings.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        try:
            credentials, _ = google.auth.default(scopes=SCOPES)
        except google.auth.exceptions.DefaultCredentialsError:
            raise PlatformError("no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account "
                                "key file (with --subject ADMIN_EMAIL for domain-wide delegation), or configure "
                                "application-default credentials") from None
        return _delegated(credentials, settings.subject, "application-default credentials")
    try:
        info = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not JSON"
        raise PlatformError(f"GOOGLE_APPLICATION_CREDENTIALS {path}: cannot read: {reason}") from None
    try:
        if isinstance(info, dict) and info.get("type") == "service_account":
            return _delegated(service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=SCOPES),
                              settings.subject, path)
        credentials, _ = google.auth.load_credentials_from_file(  # type: ignore[no-untyped-call]
            path, scopes=SCOPES)
    except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
        # The message names a missing field or the file type; it never repeats the key.
        raise PlatformError(f"GOOGLE_APPLICATION_CREDENTIALS {path}: not usable credentials "
                            f"({type(exc).__name__})") from None
    return _delegated(credentials, settings.subject, path)


def _delegated(credentials: Any, subject: str | None, shown: str) -> Any:
    if not subject:
        return credentials
    if not hasattr(credentials, "with_subject"):
        raise PlatformError(f"--subject needs a service-account key for domain-wide delegation; {shown} is not one")
    return credentials.with_subject(subject)


# ---------------------------------------------------------------- records -> snapshot (pure)


def build_snapshot(groups: Sequence[Mapping[str, Any]], members: Mapping[str, Sequence[Mapping[str, Any]]],
                   users: Sequence[Mapping[str, Any]], custom: Mapping[str, str], taken_at: str,
                   source: Mapping[str, str]) -> Snapshot:
    """Directory API records -> Snapshot. `members` holds every group's direct members, nested ones too."""
    notes: list[str] = []
    persons = {u["id"]: _person(u, custom) for u in users}
    unmapped = Counter(_label(u, custom) for u in users if _label(u, custom) and persons[u["id"]].employment is None)
    notes.extend(f"{n} user(s) have employee type {label!r}, which maps to no employment (null)"
                 for label, n in sorted(unmapped.items()))
    direct: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for gid, listed in members.items():
        direct[gid] = []
        children[gid] = []
        for m in listed:
            kind = m.get("type")
            if kind == "GROUP":
                children[gid].append(m["id"])
                continue
            account = _account(m)
            direct[gid].append(account)
            if account not in persons:
                persons[account] = _outside_person(m, account)
    expansion = expand(direct, children)
    emails = {g["id"]: g.get("email", g["id"]) for g in groups}
    for cycle in expansion.cycles:
        shown = ", ".join(emails.get(g, g) for g in cycle)
        notes.append(f"groups {shown} contain each other (a membership cycle); each is given the members of all")
    out_groups = []
    ownerless: list[str] = []
    several: list[str] = []
    for g in sorted(groups, key=lambda g: str(g.get("email", g["id"])).lower()):
        owner = _owner(g, members.get(g["id"], ()), ownerless, several)
        accounts = set(expansion.members[g["id"]]) | ({owner} if owner else set())
        out_groups.append(SnapshotGroup(external_id=g.get("email", g["id"]), name=g.get("name") or g["email"],
                                        kind="mailing-list", owner=owner, members=tuple(sorted(accounts))))
    if ownerless:
        notes.append(f"{len(ownerless)} group(s) have no OWNER (owner null): {few(ownerless)}")
    notes.extend(capped(several, "{} more group(s) have several OWNERs"))
    customers = [p for p in persons.values() if p.account.startswith("customer:")]
    notes.extend(f"{p.account} stands for everyone in the domain; it matches no inventory person" for p in customers)
    return Snapshot(version=VERSION, platform="google", taken_at=taken_at, source=dict(source),
                    people=tuple(sorted(persons.values(), key=lambda p: p.account)), groups=tuple(out_groups),
                    notes=tuple(notes))


def _account(member: Mapping[str, Any]) -> str:
    if member.get("type") == "CUSTOMER":
        return f"customer:{member.get('id', 'unknown')}"
    return str(member.get("id") or member.get("email"))


def _outside_person(member: Mapping[str, Any], account: str) -> SnapshotPerson:
    """A member the users list does not hold: outside the domain (or everyone in it): nothing is known."""
    if member.get("type") == "CUSTOMER":
        return SnapshotPerson(account, None, "everyone in the domain", None, None, None)
    return SnapshotPerson(account, member.get("email"), None, None, None, None)


def _owner(group: Mapping[str, Any], listed: Sequence[Mapping[str, Any]], ownerless: list[str],
           several: list[str]) -> str | None:
    shown = group.get("email", group["id"])
    owners = sorted((str(m.get("email") or m["id"]).lower(), _account(m)) for m in listed
                    if m.get("role") == "OWNER" and m.get("type") in ("USER", "EXTERNAL"))
    if not owners:
        ownerless.append(shown)
        return None
    if len(owners) > 1:
        rest = ", ".join(email for email, _ in owners[1:])
        several.append(f"group {shown} has {len(owners)} OWNERs; owner is {owners[0][0]} (first by email), "
                     f"the others are members: {rest}")
    return owners[0][1]


def _person(user: Mapping[str, Any], custom: Mapping[str, str]) -> SnapshotPerson:
    departed = bool(user.get("suspended")) or bool(user.get("archived"))
    name = (user.get("name") or {}).get("fullName")
    return SnapshotPerson(account=user["id"], email=user.get("primaryEmail"), name=name,
                          location=people.country(_country(user, custom)),
                          employment=people.employment(_label(user, custom)),
                          status="departed" if departed else "active")


def _custom(user: Mapping[str, Any], dotted: str | None) -> str | None:
    if not dotted or "." not in dotted:
        return None
    schema, name = dotted.split(".", 1)
    value = ((user.get("customSchemas") or {}).get(schema) or {}).get(name)
    return value if isinstance(value, str) else None


def _label(user: Mapping[str, Any], custom: Mapping[str, str]) -> str | None:
    """The employee type: a custom-schema field when configured, else the primary organization's
    description (the Admin console's "Employee type")."""
    if "employment-field" in custom:
        return _custom(user, custom["employment-field"])
    value = _primary(user.get("organizations")).get("description")
    return value if isinstance(value, str) else None


def _country(user: Mapping[str, Any], custom: Mapping[str, str]) -> str | None:
    if "location-field" in custom:
        return _custom(user, custom["location-field"])
    addresses = [a for a in user.get("addresses") or [] if isinstance(a, dict)]
    ordered = sorted(addresses, key=lambda a: (not a.get("primary"), a.get("type") != "work"))
    for address in ordered:
        code = address.get("countryCode") or address.get("country")
        if isinstance(code, str) and code:
            return code
    return None


def _primary(entries: Any) -> Mapping[str, Any]:
    listed = [e for e in entries or [] if isinstance(e, dict)]
    return next((e for e in listed if e.get("primary")), listed[0] if listed else {})
