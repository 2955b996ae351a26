"""The example org's platform ids: deterministic, so the inventory and the snapshots agree."""

from __future__ import annotations

import hashlib


def _hex(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def lark_account(name: str) -> str:
    return "ou_" + _hex("lark-user", name)[:32]


def lark_chat(name: str) -> str:
    return "oc_" + _hex("lark-chat", name)[:32]


def slack_account(name: str) -> str:
    return "U" + _hex("slack-user", name)[:10].upper()


def slack_channel(name: str) -> str:
    return "C" + _hex("slack-channel", name)[:10].upper()
