"""The example inventory with SPEC §8 platform aliases spelled as the snapshot's platform name
(google-groups -> google, teams -> microsoft), for the independent reading in tests/test_observed.py,
which compares platform names as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import ROOT

ALIASES = {"google-groups": "google", "google-workspace": "google", "teams": "microsoft",
           "microsoft-teams": "microsoft", "m365": "microsoft", "entra": "microsoft"}


def canonical_inventory(folder: Path) -> Path:
    copy = folder / "inventories"
    shutil.copytree(ROOT / "inventories", copy)
    pattern = re.compile(r"^(\s*platform:\s*)(" + "|".join(map(re.escape, ALIASES)) + r")\s*$", re.MULTILINE)
    for path in copy.rglob("*.yaml"):
        text = path.read_text("utf-8")
        path.write_text(pattern.sub(lambda m: m.group(1) + ALIASES[m.group(2)], text), "utf-8")
    return copy
