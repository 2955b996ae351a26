"""A Microsoft Entra / Graph stand-in on 127.0.0.1, over TLS (azure-identity accepts only https authorities).

Written to the documented shapes, so the real msgraph-sdk and azure-identity talk to it:
- POST /{tenant}/oauth2/v2.0/token: the client-credentials grant (client_id, client_secret,
  scope=https://graph.microsoft.com/.default); Entra's error shape on failure (`invalid_client`, AADSTS codes).
  GET /{tenant}/v2.0/.well-known/openid-configuration and /common/discovery/instance answer too, for
  clients that look the authority up first (MSAL without instance discovery disabled).
- GET /v1.0/groups, /v1.0/users, /v1.0/groups/{id}/owners, /v1.0/groups/{id}/transitiveMembers: OData
  collections (`@odata.context`, `value`, `@odata.nextLink` with a `$skiptoken`), `$top` (default 100,
  at most 999), `$select` honoured (only the named properties come back, plus `id` and, for directory
  objects, `@odata.type`), transitive membership computed server-side over nested groups (cycles
  tolerated), Graph's error envelope (`{"error": {"code", "message", "innerError"}}`), 401 without a token
  the endpoint issued.
Faults (`Fault`) make one call answer an error, a 429 with Retry-After, or a broken page.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import random
import re
import secrets
import ssl
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from testing.fake_faults import Fault, FaultyFake, JsonHandler

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_TOP, MAX_TOP = 100, 999


@dataclass
class MicrosoftTenant:
    tenant_id: str = "8f3b2c1d-0000-4000-8000-00000000beef"
    client_id: str = "11111111-2222-4333-8444-555555555555"
    client_secret: str = "s3cr3t-value-never-printed"
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, list[str]] = field(default_factory=dict)  # group id -> owner object ids
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> direct member object ids
    others: list[dict[str, Any]] = field(default_factory=list)  # devices, service principals, org contacts
    faults: list[Fault] = field(default_factory=list)
    page_cap: int = MAX_TOP  # Graph may answer fewer items than $top asks: small in tests for several pages


def graph_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-11-29T06:00:00", "request-id": secrets.token_hex(8)}}}


class FakeMicrosoft(FaultyFake):
    def __init__(self, tenant: MicrosoftTenant, folder: Path) -> None:
        self.tenant = tenant
        self.tokens: set[str] = set()
        self.requests: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.asked: Counter[tuple[str, str | None, str | None]] = Counter()  # (entity, $top, $select) -> calls
        self.lock = threading.Lock()
        self.objects: dict[str, dict[str, Any]] = {}
        self._closures: dict[str, list[str]] = {}
        for kind, items in (("user", tenant.users), ("group", tenant.groups)):
            for item in items:
                self.objects[item["id"]] = {"@odata.type": f"#microsoft.graph.{kind}", **item}
        for item in tenant.others:
            self.objects[item["id"]] = item
        self.cert_file, key_file = self_signed(folder)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        self.graph_url = self.url + "/v1.0"

    def environ(self, secret: str | None = None) -> dict[str, str]:
        """The variables the connector reads, pointing at this server."""
        return {"AZURE_TENANT_ID": self.tenant.tenant_id, "AZURE_CLIENT_ID": self.tenant.client_id,
                "AZURE_CLIENT_SECRET": secret if secret is not None else self.tenant.client_secret,
                "AZURE_AUTHORITY_HOST": self.url, "SSL_CERT_FILE": str(self.cert_file),
                "REQUESTS_CA_BUNDLE": str(self.cert_file)}

    # ------------------------------------------------------------ identity platform

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if tenant != self.tenant.tenant_id:
            return 400, {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                         "error_codes": [90002]}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003", "error_codes": [70003]}
        if form.get("client_id") != self.tenant.client_id or form.get("client_secret") != self.tenant.client_secret:
            return 401, {"error": "invalid_client", "error_codes": [7000215],
                         "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                                              "being sent in the request is the client secret value."}
        if form.get("scope") != GRAPH_SCOPE:
            return 400, {"error": "invalid_scope", "error_codes": [1002012],
                         "error_description": f"AADSTS1002012: The provided value for scope {form.get('scope')} "
                                              "is not valid."}
        token = "eyJ0eXAiOiJKV1QifQ.fake." + secrets.token_urlsafe(16)
        with self.lock:
            self.tokens.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    def openid(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {"token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize", "issuer": f"{base}/v2.0",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"]}

    # ------------------------------------------------------------ Graph

    def graph(self, path: str, query: dict[str, str], token: str | None) -> tuple[int, dict[str, Any]]:
        if token not in self.tokens:
            return 401, graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        parts = path[len("/v1.0/"):].split("/")
        if parts == ["groups"]:
            items, entity = [self.objects[g["id"]] for g in self.tenant.groups], "groups"
        elif parts == ["users"]:
            items, entity = [self.objects[u["id"]] for u in self.tenant.users], "users"
        elif len(parts) == 3 and parts[0] == "groups" and parts[2] in ("owners", "transitiveMembers"):
            if self.objects.get(parts[1], {}).get("@odata.type") != "#microsoft.graph.group":
                return 404, graph_error(404, "Request_ResourceNotFound",
                                        f"Resource '{parts[1]}' does not exist or one of its queried "
                                        "reference-property objects are not present.")
            ids = self.tenant.owners.get(parts[1], []) if parts[2] == "owners" else self._transitive(parts[1])
            items, entity = [self.objects[i] for i in ids], "directoryObjects"
        else:
            return 400, graph_error(400, "BadRequest", f"Resource not found for the segment '{parts[0]}'.")
        top = min(int(query.get("$top", DEFAULT_TOP)), MAX_TOP, self.tenant.page_cap)
        with self.lock:
            self.asked[(entity, query.get("$top"), query.get("$select"))] += 1
        start = 0
        if "$skiptoken" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["$skiptoken"].encode()).decode())
            except ValueError:
                return 400, graph_error(400, "Directory_ExpiredPageToken", "The specified page token value has "
                                        "expired and can no longer be included in your request.")
        selected = [s for s in query.get("$select", "").split(",") if s]
        page = [_select(item, selected, entity == "directoryObjects") for item in items[start:start + top]]
        body: dict[str, Any] = {"@odata.context": f"{self.graph_url}/$metadata#{entity}", "value": page}
        if start + top < len(items):
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            rest["$skiptoken"] = base64.urlsafe_b64encode(str(start + top).encode()).decode()
            body["@odata.nextLink"] = f"{self.url}{path}?{urllib.parse.urlencode(rest, safe='$,')}"
        return 200, body

    def _transitive(self, group_id: str) -> list[str]:
        """Every object reached through nested groups, each once; nested groups themselves are listed too."""
        if group_id not in self._closures:
            self._closures[group_id] = self._closure(group_id)
        return self._closures[group_id]

    def _closure(self, group_id: str) -> list[str]:
        seen: dict[str, None] = {}
        stack = list(reversed(self.tenant.members.get(group_id, [])))
        visited_groups = {group_id}
        while stack:
            oid = stack.pop()
            if oid in seen:
                continue
            seen[oid] = None
            if oid in self.tenant.members and oid not in visited_groups:
                visited_groups.add(oid)
                stack.extend(reversed(self.tenant.members[oid]))
        seen.pop(group_id, None)
        return list(seen)

    # ------------------------------------------------------------ faults and serving

    def count(self, method: str, path: str) -> None:
        shape = re.sub(r"/groups/[^/]+/", "/groups/{id}/", path)
        shape = re.sub(r"^/[^/]+/oauth2", "/{tenant}/oauth2", shape)
        with self.lock:
            self.requests[f"{method} {shape}"] += 1



def _select(item: dict[str, Any], selected: list[str], typed: bool) -> dict[str, Any]:
    if not selected:
        out = dict(item)
    else:
        out = {k: item[k] for k in ("id", *selected) if k in item}
        if typed and "@odata.type" in item:
            out = {"@odata.type": item["@odata.type"], **out}
    if not typed:
        out.pop("@odata.type", None)  # a typed collection (/users, /groups) leaves it out
    return out


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, written to `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "fake-microsoft.pem", folder / "fake-microsoft.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _handler(fake: FakeMicrosoft) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        content_type = "application/json;odata.metadata=minimal;charset=utf-8"

        def _fault(self, path: str) -> bool:
            fault = fake.fault_for(path)
            if fault is None:
                return False
            code = "TooManyRequests" if fault.status == 429 else "UnknownError"
            self._send(fault.status, fault.body or graph_error(fault.status, code, "fault"), fault.headers)
            return True

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            fake.count("POST", path)
            if self._fault(path):
                return
            match = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
            if match is None:
                self._send(404, {"error": "not_found"})
                return
            self._send(*fake.token(match.group(1), form))

        def do_GET(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            fake.count("GET", split.path)
            if self._fault(split.path):
                return
            openid = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", split.path)
            if openid:
                self._send(200, fake.openid(openid.group(1)))
            elif split.path == "/common/discovery/instance":
                discovery = f"{fake.url}/common/v2.0/.well-known/openid-configuration"
                self._send(200, {"tenant_discovery_endpoint": discovery, "metadata": []})
            elif split.path.startswith("/v1.0/"):
                auth = self.headers.get("Authorization", "")
                token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
                self._send(*fake.graph(split.path, dict(urllib.parse.parse_qsl(split.query)), token))
            else:
                self._send(404, graph_error(404, "NotFound", split.path))

    return Handler


# ---------------------------------------------------------------- resource builders


def user(oid: str, upn: str, name: str, *, mail: str | None = None, enabled: bool = True,
         usage_location: str | None = None, country: str | None = None, employee_type: str | None = None,
         guest: bool = False) -> dict[str, Any]:
    return {"id": oid, "displayName": name, "userPrincipalName": upn, "mail": mail, "accountEnabled": enabled,
            "usageLocation": usage_location, "country": country, "employeeType": employee_type,
            "userType": "Guest" if guest else "Member"}


def group(oid: str, name: str, *, team: bool = False, unified: bool = True, mail: str | None = None,
          mail_enabled: bool = True) -> dict[str, Any]:
    return {"id": oid, "displayName": name, "mail": mail, "mailEnabled": mail_enabled,
            "securityEnabled": not unified, "groupTypes": ["Unified"] if unified else [],
            "resourceProvisioningOptions": ["Team"] if team else []}


# ---------------------------------------------------------------- a generated tenant

COUNTRIES = ("US", "US", "DE", "SG", "CN", "GB", "IN", "BR")
EMPLOYEE_TYPES = ("Employee", "Employee", "Contractor", "Vendor", "Intern", None)


def generated(users: int, groups: int, seed: int = 7) -> MicrosoftTenant:
    """A tenant of `users` users (every 40th a guest) and `groups` groups: every 10th a Team, every 7th a
    security group without mail, the rest mail-enabled. Groups 10k, 10k+1, 10k+2 each contain the next
    (nesting three deep); group 3 contains group 1 (one cycle); every 100th group has 1,000 direct members,
    the others 3 to 40; every 50th group holds a mail contact. Each group has one or two owners."""
    rng = random.Random(seed)
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(users)]
    out = MicrosoftTenant(users=[
        user(oid, f"user{i}@contoso.com", f"User {i}", mail=f"user{i}@contoso.com", enabled=i % 97 != 0,
             usage_location=rng.choice(COUNTRIES), employee_type=rng.choice(EMPLOYEE_TYPES), guest=i % 40 == 0)
        for i, oid in enumerate(ids)])
    for j in range(groups):
        gid = f"11111111-0000-4000-8000-{j:012d}"
        security = j % 7 == 0 and j % 10 != 0  # the heads of nesting chains stay listed
        # Teams and Microsoft 365 groups hold no groups; nesting happens among distribution and security groups.
        out.groups.append(group(gid, f"Group {j}", team=j % 10 == 5 and not security,
                                unified=not security and j % 10 >= 4,
                                mail=None if security else f"group{j}@contoso.com", mail_enabled=not security))
        size = 1000 if j % 100 == 0 else rng.randint(3, 40)
        picked = [ids[i] for i in rng.sample(range(users), min(size, users))]
        out.owners[gid] = picked[:1 + j % 2]
        direct = list(picked)
        if j % 10 < 3 and j + 1 < groups:
            direct.append(f"11111111-0000-4000-8000-{j + 1:012d}")
        if j == 3:
            direct.append(f"11111111-0000-4000-8000-{1:012d}")
        if j % 50 == 0:
            contact = f"22222222-0000-4000-8000-{j:012d}"
            out.others.append({"@odata.type": "#microsoft.graph.orgContact", "id": contact,
                               "mail": f"contact{j}@partner.example.org", "displayName": f"Contact {j}"})
            direct.append(contact)
        out.members[gid] = direct
    return out
