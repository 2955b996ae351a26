"""A Google Workspace stand-in on 127.0.0.1: OAuth token endpoint and Admin SDK Directory API.

Written to the documented shapes, so the real google-api-python-client and google-auth talk to it:
- POST /token: the service-account JWT grant (RFC 7523). The assertion's RS256 signature is checked
  against the tenant's public key, and so are `iss`, `aud`, `sub` and `scope`; errors come back as
  Google's token endpoint sends them (`{"error": "invalid_grant", "error_description": ...}`).
- GET /admin/directory/v1/groups?customer=my_customer, .../groups/{groupKey}/members,
  .../users?customer=my_customer: the `Groups`, `Members` and `Users` list resources with `nextPageToken`
  paging, `maxResults` capped as documented (groups and members 200, users 500), `roles` filtering,
  groupKey by id or email, and Google's error envelope (`{"error": {"code", "message", "errors", "status"}}`).
  Each call needs a token the endpoint issued, carrying the scope the method documents.
Faults (`Fault`) make one call answer an error, a 429 with Retry-After, or a broken page.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from testing.fake_faults import Fault, FaultyFake, JsonHandler

DIRECTORY = "/admin/directory/v1"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
GROUP_SCOPES = {"https://www.googleapis.com/auth/admin.directory.group.readonly",
                "https://www.googleapis.com/auth/admin.directory.group"}
MEMBER_SCOPES = GROUP_SCOPES | {"https://www.googleapis.com/auth/admin.directory.group.member.readonly",
                                "https://www.googleapis.com/auth/admin.directory.group.member"}
USER_SCOPES = {"https://www.googleapis.com/auth/admin.directory.user.readonly",
               "https://www.googleapis.com/auth/admin.directory.user"}
# Documented defaults and maxima of maxResults per method.
PAGE = {"groups": (200, 200), "members": (200, 200), "users": (100, 500)}


@dataclass
class GoogleTenant:
    """What the fake Workspace holds. Members are listed per group key (the group's id)."""

    customer_id: str = "C03az79cb"
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    admin: str = "admin@example.com"  # the only subject domain-wide delegation may impersonate
    client_email: str = "checker@example-project.iam.gserviceaccount.com"
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    faults: list[Fault] = field(default_factory=list)
    # The server may answer fewer items than maxResults asks; these cap a page per method (small in tests).
    page_cap: dict[str, int] = field(default_factory=dict)

    def service_account_info(self, token_uri: str) -> dict[str, str]:
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": "example-project", "private_key_id": "k1",
                "private_key": pem, "client_email": self.client_email, "client_id": "1001",
                "token_uri": token_uri}


def error_body(code: int, message: str, reason: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason}], "status": status}}


class FakeGoogle(FaultyFake):
    def __init__(self, tenant: GoogleTenant) -> None:
        self.tenant = tenant
        self.tokens: dict[str, set[str]] = {}  # access token -> granted scopes
        self.granted: list[set[str]] = []  # the scopes of every token granted
        self.asked: Counter[tuple[str, str | None]] = Counter()  # (method, maxResults asked) -> calls
        self.requests: Counter[str] = Counter()  # "GET /admin/.../users" -> count (paths without ids)
        self.calls: Counter[str] = Counter()  # exact path -> count, for faults
        self.lock = threading.Lock()
        self._groups_by_key = {}
        for group in tenant.groups:
            self._groups_by_key[group["id"]] = group
            self._groups_by_key[group["email"].lower()] = group
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.token_uri = self.url + "token"

    # ------------------------------------------------------------ token endpoint

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        claims = self._verified_claims(form.get("assertion", ""))
        if claims is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        # google-auth signs for Google's own token endpoint, wherever token_uri points.
        if claims.get("iss") != self.tenant.client_email or claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: iss or aud."}
        if float(claims.get("exp", 0)) < time.time():
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived "
                                                                         "token and in a reasonable timeframe."}
        scopes = set(str(claims.get("scope", "")).split())
        if claims.get("sub") != self.tenant.admin or not scopes or not scopes <= (MEMBER_SCOPES | USER_SCOPES):
            return 401, {"error": "unauthorized_client",
                         "error_description": "Client is unauthorized to retrieve access tokens using this method, "
                                              "or client not authorized for any of the scopes requested."}
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        with self.lock:
            self.granted.append(scopes)
            self.tokens[token] = scopes
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _verified_claims(self, assertion: str) -> dict[str, Any] | None:
        try:
            head, body, sig = assertion.split(".")
            self.tenant.key.public_key().verify(_unb64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(),
                                                hashes.SHA256())
            claims: dict[str, Any] = json.loads(_unb64(body))
            return claims
        except Exception:
            return None

    # ------------------------------------------------------------ Directory API

    def directory(self, path: str, query: dict[str, str], token: str | None) -> tuple[int, dict[str, Any]]:
        scopes = self.tokens.get(token or "")
        if scopes is None:
            return 401, error_body(401, "Request had invalid authentication credentials.", "authError",
                                   "UNAUTHENTICATED")
        parts = [urllib.parse.unquote(p) for p in path[len(DIRECTORY) + 1:].split("/")]
        if parts == ["groups"]:
            needed, method, items = GROUP_SCOPES, "groups", self._customer_list(query, self.tenant.groups)
        elif parts == ["users"]:
            needed, method, items = USER_SCOPES, "users", self._customer_list(query, self.tenant.users)
        elif len(parts) == 3 and parts[0] == "groups" and parts[2] == "members":
            group = self._groups_by_key.get(parts[1]) or self._groups_by_key.get(parts[1].lower())
            if group is None:
                return 404, error_body(404, "Resource Not Found: groupKey", "notFound", "NOT_FOUND")
            needed, method = MEMBER_SCOPES, "members"
            items = self.tenant.members.get(group["id"], [])
            if "roles" in query:
                roles = set(query["roles"].split(","))
                items = [m for m in items if m.get("role") in roles]
        else:
            return 404, error_body(404, f"Method not found: {path}", "notFound", "NOT_FOUND")
        if not scopes & needed:
            return 403, error_body(403, "Not Authorized to access this resource/api", "forbidden",
                                   "PERMISSION_DENIED")
        if items is None:
            return 400, error_body(400, "Bad Request", "badRequest", "INVALID_ARGUMENT")
        if method == "users" and query.get("projection") not in ("custom", "full"):
            items = [{k: v for k, v in u.items() if k != "customSchemas"} for u in items]
        return self._page(method, query, items)

    def _customer_list(self, query: dict[str, str], items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        if query.get("customer") not in ("my_customer", self.tenant.customer_id):
            return None  # the API wants customer or domain; this fake knows the customer only
        return items

    def _page(self, method: str, query: dict[str, str], items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        default, most = PAGE[method]
        size = min(int(query.get("maxResults", default)), most, self.tenant.page_cap.get(method, most))
        with self.lock:
            self.asked[(method, query.get("maxResults"))] += 1
        start = 0
        if "pageToken" in query:
            start = _offset(query["pageToken"], method)
            if start is None:
                return 400, error_body(400, "Invalid Input: pageToken", "invalid", "INVALID_ARGUMENT")
        kind = {"groups": "admin#directory#groups", "members": "admin#directory#members",
                "users": "admin#directory#users"}[method]
        body: dict[str, Any] = {"kind": kind, "etag": '"fake"', method: items[start:start + size]}
        if start + size < len(items):
            body["nextPageToken"] = _token(method, start + size)
        if not body[method]:
            del body[method]  # the API leaves an empty list out
        return 200, body

    # ------------------------------------------------------------ faults and serving

    def count(self, method: str, path: str) -> None:
        shape = re.sub(r"/groups/[^/]+/members", "/groups/{groupKey}/members", path)
        with self.lock:
            self.requests[f"{method} {shape}"] += 1



def _token(method: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{method}:{offset}".encode()).decode().rstrip("=")


def _offset(token: str, method: str) -> int | None:
    try:
        name, offset = _unb64(token).decode().split(":")
        return int(offset) if name == method else None
    except Exception:
        return None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _handler(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        content_type = "application/json; charset=UTF-8"

        def _fault(self, path: str) -> bool:
            fault = fake.fault_for(path)
            if fault is None:
                return False
            body = fault.body if fault.body is not None else error_body(
                fault.status, "fault", "backendError" if fault.status >= 500 else "rateLimitExceeded", "UNAVAILABLE")
            self._send(fault.status, body, fault.headers)
            return True

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            fake.count("POST", path)
            if self._fault(path):
                return
            if path != "/token":
                self._send(404, error_body(404, "Not Found", "notFound", "NOT_FOUND"))
                return
            self._send(*fake.grant(form))

        def do_GET(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            fake.count("GET", split.path)
            if self._fault(split.path):
                return
            if not split.path.startswith(DIRECTORY + "/"):
                self._send(404, error_body(404, "Not Found", "notFound", "NOT_FOUND"))
                return
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
            query = dict(urllib.parse.parse_qsl(split.query))
            self._send(*fake.directory(split.path, query, token))

    return Handler


@contextmanager
def serve(tenant: GoogleTenant) -> Iterator[FakeGoogle]:
    with FakeGoogle(tenant) as fake:
        yield fake


# ---------------------------------------------------------------- resource builders


def user(uid: str, email: str, name: str, *, country: str | None = None, employee_type: str | None = None,
         suspended: bool = False, archived: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "admin#directory#user", "id": uid, "primaryEmail": email,
                           "name": {"fullName": name}, "suspended": suspended, "archived": archived}
    if country:
        out["addresses"] = [{"type": "work", "countryCode": country, "primary": True}]
    if employee_type:
        out["organizations"] = [{"primary": True, "customType": "", "description": employee_type}]
    return out


def group(gid: str, email: str, name: str) -> dict[str, Any]:
    return {"kind": "admin#directory#group", "id": gid, "email": email, "name": name, "adminCreated": True}


def member(mid: str, email: str | None, *, role: str = "MEMBER", kind: str = "USER") -> dict[str, Any]:
    out = {"kind": "admin#directory#member", "etag": '"m"', "id": mid, "role": role, "type": kind,
           "status": "ACTIVE"}
    if email is not None:
        out["email"] = email
    return out


# ---------------------------------------------------------------- a generated tenant

COUNTRIES = ("US", "US", "DE", "SG", "CN", "GB", "IN", "BR")
EMPLOYEE_TYPES = ("Full-time", "Full-time", "Contractor", "Vendor", "Intern", None)


def generated(users: int, groups: int, seed: int = 7) -> GoogleTenant:
    """A tenant of `users` users and `groups` groups. Groups 10k, 10k+1, 10k+2 each contain the next group
    (nesting three deep under 10k); group 3 contains group 1 (one cycle: 1 > 2 > 3 > 1); every 100th group has
    1,000 members (several pages), the others 3 to 40; every 50th group has an EXTERNAL member and group 5
    everyone in the domain (CUSTOMER). Each group has one or two OWNERs."""
    rng = random.Random(seed)
    ids = [f"1{i:08d}" for i in range(users)]
    out = GoogleTenant(users=[user(uid, f"user{i}@example.com", f"User {i}", country=rng.choice(COUNTRIES),
                                   employee_type=rng.choice(EMPLOYEE_TYPES), suspended=i % 97 == 0,
                                   archived=i % 89 == 0) for i, uid in enumerate(ids)])
    for j in range(groups):
        gid, email = f"0g{j:06d}", f"group{j}@example.com"
        out.groups.append(group(gid, email, f"Group {j}"))
        size = 1000 if j % 100 == 0 else rng.randint(3, 40)
        picked = rng.sample(range(users), min(size, users))
        listed = [member(ids[i], f"user{i}@example.com", role="OWNER" if n < 1 + j % 2 else "MEMBER")
                  for n, i in enumerate(picked)]
        if j % 10 < 3 and j + 1 < groups:
            listed.append(member(f"0g{j + 1:06d}", f"group{j + 1}@example.com", kind="GROUP"))
        if j == 3:
            listed.append(member("0g000001", "group1@example.com", kind="GROUP"))
        if j % 50 == 0:
            listed.append(member(f"ext{j}", f"guest{j}@partner.example.org", kind="EXTERNAL"))
        if j == 5:
            listed.append(member(out.customer_id, None, kind="CUSTOMER"))
        out.members[gid] = listed
    return out
