"""Snapshot of a generated Google Workspace and Microsoft 365 tenant (2,000 groups, 20,000 users by default)
through the real SDKs against the fake servers on 127.0.0.1. Goal (issue 15): under 60 s per platform.

    python3 benchmarks/snapshot_platforms.py [--platform google|microsoft|both] [--users N] [--groups N]

The fake runs in its own process, so it does not share the interpreter lock with the connector. Printed per
platform: seconds to read, seconds to write the file, the HTTP requests by kind, and what the snapshot holds.
Page sizes: the connectors ask for the documented maxima (Directory API groups and members 200, users 500;
Graph $top 999), so the request count is set by the number of groups: one members (Google) or one owners and
one transitiveMembers (Graph) request per group, plus one per further page of a big group.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checker import snapshot
from checker.platforms import ConnectorSettings, connector


def _serve(platform: str, users: int, groups: int, folder: str, pipe: Connection) -> None:
    if platform == "google":
        from testing import fake_google

        tenant = fake_google.generated(users=users, groups=groups)
        with fake_google.serve(tenant) as fake:
            key = Path(folder) / "key.json"
            key.write_text(json.dumps(tenant.service_account_info(fake.token_uri)))
            pipe.send(({"GOOGLE_APPLICATION_CREDENTIALS": str(key)}, fake.url, tenant.admin))
            pipe.recv()
            pipe.send(dict(fake.requests))
    else:
        from testing import fake_microsoft

        ms_tenant = fake_microsoft.generated(users=users, groups=groups)
        with fake_microsoft.FakeMicrosoft(ms_tenant, Path(folder)) as ms_fake:
            pipe.send((ms_fake.environ(), ms_fake.graph_url, None))
            pipe.recv()
            pipe.send(dict(ms_fake.requests))


def run(platform: str, users: int, groups: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        mine, theirs = multiprocessing.Pipe()
        child = multiprocessing.Process(target=_serve, args=(platform, users, groups, folder, theirs), daemon=True)
        child.start()
        try:
            environ, url, subject = mine.recv()
            start, cpu = time.perf_counter(), time.process_time()
            made = connector(platform).read(ConnectorSettings(environ, api_url=url, subject=subject))
            read, cpu = time.perf_counter() - start, time.process_time() - cpu
            start = time.perf_counter()
            snapshot.write(made, Path(folder) / f"{platform}.json")
            written = time.perf_counter() - start
            mine.send("stop")
            requests = mine.recv()
        finally:
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
    return {"platform": platform, "read_s": round(read, 2), "connector_cpu_s": round(cpu, 2),
            "write_s": round(written, 2),
            "requests": sum(requests.values()), "by_kind": requests, "groups": len(made.groups),
            "people": len(made.people), "memberships": sum(len(g.members) for g in made.groups)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=("google", "microsoft", "both"), default="both")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--groups", type=int, default=2000)
    args = parser.parse_args()
    platforms = ("google", "microsoft") if args.platform == "both" else (args.platform,)
    for platform in platforms:
        print(json.dumps(run(platform, args.users, args.groups)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
