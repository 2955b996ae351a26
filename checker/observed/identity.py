"""Who and what a platform id stands for: platform aliases and the SPEC §2 uniqueness of
`email`, `accounts` and `external_id` (pure; called by inventory.build)."""

from __future__ import annotations

from collections.abc import Mapping

from checker.errors import Problem
from checker.models import Group, Person

# SPEC §8: a snapshot's platform covers the inventory groups whose `platform` is it or an alias.
PLATFORM_ALIASES: Mapping[str, frozenset[str]] = {
    "lark": frozenset({"lark", "feishu"}),
    "slack": frozenset({"slack"}),
    "google": frozenset({"google", "google-groups", "google-workspace"}),
    "microsoft": frozenset({"microsoft", "teams", "microsoft-teams", "m365", "entra"}),
}
_CANONICAL = {alias: name for name, aliases in PLATFORM_ALIASES.items() for alias in aliases}


def canonical_platform(name: str) -> str:
    """The snapshot platform an inventory `platform` value belongs to (itself when it has none)."""
    return _CANONICAL.get(name, name)


def identity_problems(people: Mapping[str, Person], groups: Mapping[str, Group]) -> list[Problem]:
    """Emails unique case-insensitively, accounts unique per platform, external ids unique per platform."""
    problems: list[Problem] = []
    emails: dict[str, Person] = {}
    accounts: dict[tuple[str, str], tuple[Person, str]] = {}
    for person in people.values():
        file = person.location.file
        if person.email is not None:
            first = emails.setdefault(person.email.casefold(), person)
            if first is not person:
                problems.append(Problem(file, person.field_lines.get("email"),
                                        f"person {person.id}: email {person.email!r} is also {first.id}'s "
                                        f"(at {_where(first, 'email')}); emails are unique, ignoring case"))
        for platform, account in person.accounts.items():
            key = (canonical_platform(platform), account)
            holder, holder_key = accounts.setdefault(key, (person, platform))
            if holder is not person:
                problems.append(Problem(file, person.field_lines.get(f"accounts.{platform}"),
                                        f"person {person.id}: {key[0]} account {account!r} is also {holder.id}'s "
                                        f"(at {_where(holder, 'accounts.' + holder_key)})"))
    external: dict[tuple[str, str], Group] = {}
    for group in groups.values():
        if group.external_id is None:
            continue
        gkey = (canonical_platform(group.fields["platform"]), group.external_id)
        seen = external.setdefault(gkey, group)
        if seen is not group:
            problems.append(Problem(group.location.file, group.field_lines.get("external_id"),
                                    f"group {group.id}: {gkey[0]} external_id {group.external_id!r} is also "
                                    f"group {seen.id}'s (at {seen.location.file}:"
                                    f"{seen.field_lines.get('external_id')})"))
    return problems


def _where(person: Person, key: str) -> str:
    return f"{person.location.file}:{person.field_lines.get(key) or person.location.line}"
