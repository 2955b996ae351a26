"""Connectors that read what a platform really holds (SPEC §8), one module per platform.

Each connector is behind the `Connector` protocol and listed in `CONNECTORS` by its SPEC §8
platform name. Modules are imported only when used, because each needs its platform's SDK,
an optional extra (`pip install 'checker[lark]'`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from checker.errors import CheckerError

if TYPE_CHECKING:
    from checker.snapshot import Snapshot


class PlatformError(CheckerError):
    """The platform's API refused, failed, or answered something unusable: no snapshot is written."""


@dataclass(frozen=True)
class ConnectorSettings:
    """What a connector needs besides its credentials, which it reads from `environ` itself."""

    environ: Mapping[str, str]
    api_url: str | None = None  # another API root: Feishu, a proxy, a test server on 127.0.0.1
    subject: str | None = None  # Google: the admin to impersonate with domain-wide delegation
    max_wait_seconds: float = 300.0  # the total time rate limits may be waited out
    options: Mapping[str, str] = field(default_factory=dict)


class Connector(Protocol):
    platform: str  # SPEC §8 name: lark, slack, google, microsoft
    extra: str  # the optional dependency group that installs its SDK

    def read(self, settings: ConnectorSettings) -> Snapshot:
        """Everything the platform holds now, or PlatformError. Never prints a credential."""
        ...


# platform -> (module, class); imported on use so a missing SDK fails only the connector that needs it.
CONNECTORS: dict[str, tuple[str, str]] = {
    "lark": ("checker.platforms.lark", "LarkConnector"),
    "slack": ("checker.platforms.slack", "SlackConnector"),
    "google": ("checker.platforms.google", "GoogleConnector"),
    "microsoft": ("checker.platforms.microsoft", "MicrosoftConnector"),
}


def connector(platform: str) -> Connector:
    try:
        module_name, class_name = CONNECTORS[platform]
    except KeyError:
        raise PlatformError(f"--platform {platform}: unknown platform; known: {', '.join(sorted(CONNECTORS))}"
                            ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # the platform's SDK is an optional extra, named after the platform
        if (exc.name or "").startswith("checker"):
            raise
        raise PlatformError(f"--platform {platform} needs its SDK ({exc.name or exc}): "
                            f"pip install 'checker[{platform}]'") from None
    made: Connector = getattr(module, class_name)()
    return made
