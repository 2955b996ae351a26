"""What the reports show of observed state besides findings: the snapshots used and, per matched
group, declared vs observed member counts (JSON-ready RunResult.meta values, pure).

meta["observed"]: [{"platform": str, "taken_at": str, "file": str}] (SPEC §7)
meta["drift_groups"]: [{"group": str, "platform": str, "external_id": str,
                        "declared": int, "observed": int, "gap": int}], the largest |gap| first
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checker.models import Inventory
from checker.observed.match import Matching


def observed_meta(matchings: Sequence[Matching]) -> list[dict[str, Any]]:
    return [{"platform": m.platform, "taken_at": m.snapshot.taken_at, "file": m.file} for m in matchings]


def drift_groups(declared: Inventory, observed: Inventory, matchings: Sequence[Matching]) -> list[dict[str, Any]]:
    rows = []
    for matching in matchings:
        for external_id, gid in matching.groups.items():
            before, after = len(declared.groups[gid].members), len(observed.groups[gid].members)
            rows.append({"group": gid, "platform": matching.platform, "external_id": external_id,
                         "declared": before, "observed": after, "gap": after - before})
    return sorted(rows, key=lambda r: (-abs(r["gap"]), r["group"]))
