"""Synthetic organisations in SPEC §2 inventory format, for tests and benchmarks.

The shape imitates a real org rather than uniform noise, because the checker's cost and its
findings depend on it: group sizes are heavy-tailed (most groups have a handful of members, a
few have hundreds), most people are employees in the group's own region, and a minority of
groups holds sensitive data. YAML is written as text with string formatting: yaml.dump is two
orders of magnitude slower, and every value written here is a plain scalar that needs no
quoting (ids, country codes, enum words, ISO dates, letters and spaces).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

REFERENCE_DATE = dt.date(2026, 11, 29)

# Sizes are 3 * Pareto(alpha), capped: alpha 1.13 gives a mean of about 13.7 members, so
# 10,000 groups hold about 137,000 memberships, with roughly 4% of groups above 50 members.
PARETO_ALPHA = 1.13
MIN_GROUP_SIZE = 3
MAX_GROUP_SIZE = 500

LOCATIONS = ("US", "CN", "SG", "IE", "GB", "DE", "FR", "IN")
LOCATION_WEIGHTS = (34, 16, 10, 12, 8, 8, 6, 6)
EMPLOYMENTS = ("employee", "contractor", "vendor")
EMPLOYMENT_WEIGHTS = (85, 10, 5)
DEPARTED_SHARE = 0.03

PLATFORMS = ("lark", "slack", "google-groups", "teams")
PLATFORM_WEIGHTS = (35, 35, 22, 8)
PLATFORM_PREFIX = {"lark": "lark", "slack": "slack", "google-groups": "gg", "teams": "teams"}
KINDS = ("chat", "channel", "mailing-list", "document-space", "case-queue")
KIND_WEIGHTS = (30, 25, 15, 15, 15)

NON_SENSITIVE_CLASS_SETS: tuple[tuple[str, ...], ...] = (
    (),
    ("internal",),
    ("public",),
    ("public", "internal"),
)
SENSITIVE_CLASSES = ("user_pii", "financial", "government_id", "biometric", "minor_safety")
SENSITIVE_WEIGHTS = (50, 20, 14, 8, 8)
SENSITIVE_SHARE = 0.45
EMPLOYEES_ONLY = frozenset({"government_id", "biometric", "minor_safety"})

JURISDICTIONS = ("US", "EU", "GB", "SG", "GLOBAL")
JURISDICTION_WEIGHTS = (35, 25, 10, 10, 20)
# Same table as SPEC §4, restricted to the locations generated here.
STAFF_LOCATIONS = {
    "US": {"US"},
    "EU": {"IE", "DE", "FR"},
    "GB": {"GB", "IE"},
    "SG": {"SG"},
    "GLOBAL": {"US", "IE", "DE", "FR", "GB", "SG"},
}
NO_JURISDICTION_SHARE = 0.12
TWO_JURISDICTIONS_SHARE = 0.05
HOME_MEMBER_SHARE = 0.9  # share of members drawn from the group's approved locations
OWNER_UNLISTED_SHARE = 0.08  # groups that rely on "the owner is a member whether listed or not"
# Access reviews of sensitive groups: (share, oldest, newest days before today); the rest have none.
# Limits are 90 or 180 days, so the middle band is overdue for some classes only.
REVIEW_BANDS = ((0.65, 1, 85), (0.15, 86, 400), (0.02, -30, -1))
# Some people reach far: one per this many groups joins 13-16 sensitive groups (sensitive-reach).
GROUPS_PER_WIDE_REACH = 400

FIRST_NAMES = (
    "mei", "li", "wei", "ana", "jordan", "priya", "marcus", "sarah", "daniel", "emily", "kevin",
    "rachel", "tom", "lisa", "aoife", "conor", "siobhan", "liam", "niamh", "james", "hannah",
    "lena", "felix", "camille", "vikram", "ananya", "arjun", "siti", "jason", "kelvin", "hao",
    "fang", "yang", "jing", "lei", "tao", "lin", "xia", "peng", "jun", "grace", "olivia", "sam",
)  # fmt: skip
LAST_NAMES = (
    "chen", "wang", "zhang", "liu", "ruiz", "blake", "raman", "webb", "okafor", "kim", "nguyen",
    "osei", "stein", "park", "murphy", "byrne", "kelly", "walsh", "whitfield", "cole", "hoffmann",
    "wagner", "durand", "iyer", "rao", "das", "rahman", "lim", "ong", "tan", "goh", "patel", "grant",
)  # fmt: skip
TOPICS = (
    "escalations", "appeals", "moderation", "dsar", "payouts", "ads-review", "creator-support",
    "incident-response", "growth", "experiments", "legal-requests", "age-assurance", "live-ops",
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    location: str
    employment: str
    departed: bool
    privacy: str | None  # ISO date of the last privacy training, None if never taken


@dataclass(frozen=True)
class Group:
    id: str
    platform: str
    kind: str
    owner: int  # index into the people list
    members: tuple[int, ...]  # listed members; may omit the owner
    data_classes: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    description: str
    reviewed: str | None = None  # ISO date of the last access review (by the owner), None if never


@dataclass(frozen=True)
class Waiver:
    id: str
    rule: str
    group: str
    person: str | None
    reason: str
    approved_by: str
    expires: str


@dataclass(frozen=True)
class OrgStats:
    people: int
    groups: int
    memberships: int  # distinct (group, person) pairs, owners included
    waivers: int


# ---------------------------------------------------------------- people


def training_date(rng: random.Random, today: dt.date) -> str | None:
    """Mostly recent, some stale (over a year), some never taken."""
    roll = rng.random()
    if roll < 0.78:
        return (today - dt.timedelta(days=rng.randrange(0, 330))).isoformat()
    if roll < 0.92:
        return (today - dt.timedelta(days=rng.randrange(366, 900))).isoformat()
    return None


def make_people(rng: random.Random, count: int, today: dt.date) -> list[Person]:
    people: list[Person] = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        people.append(
            Person(
                # The numeric suffix alone makes ids unique.
                id=f"{first}.{last}.{i}",
                name=f"{first.title()} {last.title()}",
                location=rng.choices(LOCATIONS, LOCATION_WEIGHTS)[0],
                employment=rng.choices(EMPLOYMENTS, EMPLOYMENT_WEIGHTS)[0],
                departed=rng.random() < DEPARTED_SHARE,
                privacy=training_date(rng, today),
            )
        )
    return people


def people_by_location(people: Sequence[Person]) -> dict[str, list[int]]:
    pools: dict[str, list[int]] = {loc: [] for loc in LOCATIONS}
    for index, person in enumerate(people):
        pools[person.location].append(index)
    return pools


# ---------------------------------------------------------------- groups


def group_size(rng: random.Random, population: int) -> int:
    size = min(MAX_GROUP_SIZE, int(MIN_GROUP_SIZE * rng.paretovariate(PARETO_ALPHA)))
    return max(1, min(size, population))


def pick_data_classes(rng: random.Random) -> tuple[str, ...]:
    if rng.random() >= SENSITIVE_SHARE:
        return rng.choice(NON_SENSITIVE_CLASS_SETS)
    first = rng.choices(SENSITIVE_CLASSES, SENSITIVE_WEIGHTS)[0]
    # Real sensitive groups usually carry user_pii alongside the rarer class.
    if first != "user_pii" and rng.random() < 0.6:
        return ("user_pii", first)
    return (first,)


def pick_jurisdictions(rng: random.Random) -> tuple[str, ...]:
    roll = rng.random()
    if roll < NO_JURISDICTION_SHARE:
        return ()
    first = rng.choices(JURISDICTIONS, JURISDICTION_WEIGHTS)[0]
    if roll < NO_JURISDICTION_SHARE + TWO_JURISDICTIONS_SHARE:
        second = rng.choices(JURISDICTIONS, JURISDICTION_WEIGHTS)[0]
        if second != first:
            return (first, second)
    return (first,)


def home_pool(rng: random.Random, jurisdictions: tuple[str, ...], pools: dict[str, list[int]]) -> list[int]:
    """People working where the group's users' data may be handled (a random country if none)."""
    if jurisdictions:
        approved = set.intersection(*(STAFF_LOCATIONS[j] for j in jurisdictions))
    else:
        approved = {rng.choice(LOCATIONS)}
    return [index for loc in sorted(approved) for index in pools[loc]]


def pick_members(rng: random.Random, size: int, home: list[int], population: int) -> list[int]:
    """`size` distinct people, mostly from the home pool; order is insertion order."""
    if not home or size * 2 > population:
        return rng.sample(range(population), size)
    chosen: dict[int, None] = {}
    while len(chosen) < size:
        pick = rng.choice(home) if rng.random() < HOME_MEMBER_SHARE else rng.randrange(population)
        chosen.setdefault(pick, None)
    return list(chosen)


def make_group(rng: random.Random, index: int, people_count: int, pools: dict[str, list[int]]) -> Group:
    platform = rng.choices(PLATFORMS, PLATFORM_WEIGHTS)[0]
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    classes = pick_data_classes(rng)
    jurisdictions = pick_jurisdictions(rng)
    topic = rng.choice(TOPICS)
    region = "-".join(j.lower() for j in jurisdictions) or "org"
    members = pick_members(
        rng, group_size(rng, people_count), home_pool(rng, jurisdictions, pools), people_count
    )
    owner = members[0]
    listed = members[1:] if rng.random() < OWNER_UNLISTED_SHARE else members
    return Group(
        id=f"{PLATFORM_PREFIX[platform]}-{region}-{topic}-{index:05d}",
        platform=platform,
        kind=kind,
        owner=owner,
        members=tuple(listed),
        data_classes=classes,
        jurisdictions=jurisdictions,
        description=f"Synthetic {kind} number {index} for {topic.replace('-', ' ')}",
    )


def membership_count(group: Group) -> int:
    return len(set(group.members) | {group.owner})


def add_reviews_and_reach(rng: random.Random, made: list[Group], population: int, today: dt.date) -> list[Group]:
    """Access reviews on sensitive groups (REVIEW_BANDS), and a few people in many sensitive groups."""
    out = []
    for g in made:
        if is_sensitive(g):
            draw, start = rng.random(), 0.0
            for share, oldest, newest in REVIEW_BANDS:
                if start <= draw < start + share:
                    day = today - dt.timedelta(days=rng.randint(oldest, newest))
                    g = replace(g, reviewed=day.isoformat())
                start += share
        out.append(g)
    sensitive = [i for i, g in enumerate(out) if is_sensitive(g)]
    for _ in range(len(out) // GROUPS_PER_WIDE_REACH if len(sensitive) >= 20 else 0):
        person = rng.randrange(population)
        for i in rng.sample(sensitive, rng.randint(13, 16)):
            g = out[i]
            if person != g.owner and person not in g.members:
                out[i] = replace(g, members=(*g.members, person))
    return out


# ---------------------------------------------------------------- waivers


def is_sensitive(group: Group) -> bool:
    return any(c in SENSITIVE_CLASSES for c in group.data_classes)


def first_outsider(group: Group, people: Sequence[Person]) -> int | None:
    """The first non-employee among the group's members (owner included), if any."""
    for index in (group.owner, *group.members):
        if people[index].employment != "employee":
            return index
    return None


def make_waivers(
    rng: random.Random, groups: Sequence[Group], people: Sequence[Person], today: dt.date
) -> list[Waiver]:
    """A few waivers of each kind, each on its own group so no two waivers overlap.

    In force and matching: subject-jurisdiction-missing on sensitive groups without
    jurisdictions, and non-employee-access narrowed to a non-employee member of an
    employees_only group; both fire by SPEC §4 whatever the as-of date. Expired: any rule,
    expired before the reference date. Unused: departed-owner on a non-sensitive group,
    which that rule can never judge.
    """
    per_kind = max(1, len(groups) // 2000)
    taken: set[str] = set()
    waivers: list[Waiver] = []

    def add(rule: str, group: Group, person: str | None, days: int, reason: str) -> None:
        taken.add(group.id)
        waivers.append(
            Waiver(
                id=f"w-synthetic-{len(waivers) + 1:04d}",
                rule=rule,
                group=group.id,
                person=person,
                reason=reason,
                approved_by=people[rng.randrange(len(people))].id,
                expires=(today + dt.timedelta(days=days)).isoformat(),
            )
        )

    def candidates(pred: Callable[[Group], bool]) -> list[Group]:
        return [g for g in groups if g.id not in taken and pred(g)]

    for g in candidates(lambda g: is_sensitive(g) and not g.jurisdictions)[:per_kind]:
        add("subject-jurisdiction-missing", g, None, rng.randrange(30, 400), "Jurisdiction review pending")
    narrowed = 0
    for g in candidates(lambda g: bool(EMPLOYEES_ONLY & set(g.data_classes))):
        outsider = first_outsider(g, people)
        if narrowed < per_kind and outsider is not None:
            add("non-employee-access", g, people[outsider].id, rng.randrange(30, 400), "Conversion pending")
            narrowed += 1
    for g in candidates(lambda g: True)[:per_kind]:
        add("owner-location", g, None, -rng.randrange(1, 200), "Temporary cover, since ended")
    for g in candidates(lambda g: not is_sensitive(g))[:per_kind]:
        add("departed-owner", g, None, rng.randrange(30, 400), "Owner hand-over in progress")
    return waivers


# ---------------------------------------------------------------- YAML text


def person_yaml(p: Person) -> str:
    lines = [
        f"  - id: {p.id}",
        f"    name: {p.name}",
        f"    location: {p.location}",
        f"    employment: {p.employment}",
    ]
    if p.departed:
        lines.append("    status: departed")
    if p.privacy is not None:
        lines.append(f"    trainings:\n      privacy: {p.privacy}")
    return "\n".join(lines) + "\n"


def flow_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def group_yaml(g: Group, people: Sequence[Person]) -> str:
    members = "".join(f"      - {people[i].id}\n" for i in g.members)
    lines = [
        "groups:",
        f"  - id: {g.id}",
        f"    platform: {g.platform}",
        f"    kind: {g.kind}",
        f"    owner: {people[g.owner].id}",
        "    members:" + ("\n" + members.rstrip("\n") if members else " []"),
        f"    data_classes: {flow_list(g.data_classes)}",
    ]
    if g.jurisdictions:
        lines.append(f"    subject_jurisdictions: {flow_list(g.jurisdictions)}")
    lines.append(f"    description: {g.description}")
    if g.reviewed is not None:
        lines.append(f"    reviewed:\n      on: {g.reviewed}\n      by: {people[g.owner].id}")
    return "\n".join(lines) + "\n"


def waiver_yaml(w: Waiver) -> str:
    lines = [f"  - id: {w.id}", f"    rule: {w.rule}", f"    group: {w.group}"]
    if w.person is not None:
        lines.append(f"    person: {w.person}")
    lines += [f"    reason: {w.reason}", f"    approved_by: {w.approved_by}", f"    expires: {w.expires}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- entry points


def build_org(
    root: Path,
    groups: int,
    seed: int = 0,
    *,
    people_per_group: int = 3,
    people_per_file: int = 1000,
    waivers: bool = True,
    today: dt.date = REFERENCE_DATE,
) -> OrgStats:
    """generate_org, returning counts of what was written."""
    rng = random.Random(seed)
    root = Path(root)
    people = make_people(rng, max(MIN_GROUP_SIZE, groups * people_per_group), today)
    pools = people_by_location(people)
    made = [make_group(rng, i, len(people), pools) for i in range(groups)]
    # A second stream for what pack 2 added, so the groups above stay those of earlier versions.
    made = add_reviews_and_reach(random.Random(f"reach-{seed}"), made, len(people), today)

    people_dir = root / "people"
    people_dir.mkdir(parents=True, exist_ok=True)
    for n, start in enumerate(range(0, len(people), people_per_file), start=1):
        body = "".join(person_yaml(p) for p in people[start : start + people_per_file])
        (people_dir / f"people-{n:04d}.yaml").write_text("people:\n" + body, encoding="utf-8")

    for platform in {g.platform for g in made}:
        (root / "groups" / platform).mkdir(parents=True, exist_ok=True)
    for g in made:
        (root / "groups" / g.platform / f"{g.id}.yaml").write_text(group_yaml(g, people), encoding="utf-8")

    written: list[Waiver] = make_waivers(rng, made, people, today) if waivers else []
    if written:
        body = "".join(waiver_yaml(w) for w in written)
        (root / "waivers.yaml").write_text("waivers:\n" + body, encoding="utf-8")

    return OrgStats(
        people=len(people),
        groups=len(made),
        memberships=sum(membership_count(g) for g in made),
        waivers=len(written),
    )


def generate_org(
    root: Path,
    groups: int,
    seed: int = 0,
    *,
    people_per_group: int = 3,
    people_per_file: int = 1000,
    waivers: bool = True,
) -> None:
    """Write a synthetic inventory under root: people/people-NNNN.yaml, one file per group in
    groups/<platform>/<id>.yaml, and waivers.yaml. Deterministic for a seed; dates are
    relative to REFERENCE_DATE (2026-11-29), so audit it with that as-of date."""
    build_org(
        root,
        groups,
        seed,
        people_per_group=people_per_group,
        people_per_file=people_per_file,
        waivers=waivers,
    )
