"""The demo network and generated networks.

    python -m services.directory.seed --demo-if-empty
    python -m services.directory.seed --authorities 100000 [--users 44000] [--events]

The demo network (run by ``make run`` before the services start): for each of the 30 EEA
countries its national IMI coordinating authority with ``cc-coordinator``, a national authority
competent for every procedure and keyword of the catalogue with ``cc-officer``, and a regional and
a local body; the Commission with ``commission``. Ids are uuid5 of fixed names, so a second run
changes nothing. Every demo user has the password ``demo`` unless IMI_DEMO_PASSWORD is set; the
demo users share one argon2 hash of it, so seeding takes a fraction of a second.

The generator builds a realistic network for benchmarks with COPY: every country (weighted by
population), mostly regional and local bodies, competences spread over the catalogue's areas,
informal titles in two to four languages. Generated users share one hash of ``--password``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from services.directory import geography
from services.directory.credentials import Passwords
from services.directory.domain import (
    AuthorityFields,
    CatalogueView,
    changed_fields,
    clean_authority,
    name_key,
)
from services.directory.models import outbox
from services.directory.network import (
    COMMISSION_NAME,
    DEMO_COUNTRIES,
    KIND_COMPETENCES,
    KIND_DESCRIPTIONS_EN,
    KIND_NAMES,
    KINDS,
    NATIONAL_TITLE,
    POPULATION,
    REGION_LANGUAGES,
)
from services.directory.repository import AuthorityRepository, UserRepository
from services.directory.service import (
    authority_snapshot,
    authority_values,
    user_snapshot,
    utc_now,
)
from services.directory.settings import DirectorySettings
from shared.contracts.directory import (
    AuthorityLevel,
    AuthorityRegistered,
    AuthorityStatus,
    Competence,
    PostalAddress,
    UserRegistered,
)
from shared.db import Database
from shared.identity import Role, RoleName
from shared.messaging import EVENTS_EXCHANGE, notify_relays
from shared.settings import REPO_ROOT

NAMESPACE = uuid.UUID("6f1c4a52-3d7e-5b8a-9c2f-0e4d1b7a6c35")
CATALOGUE_AREAS = REPO_ROOT / "services" / "translation" / "catalogue" / "areas"
SEED_ACTION = "seeded"


def demo_id(kind: str, key: str) -> uuid.UUID:
    """The fixed id of a demo authority or user (uuid5 of its key)."""
    return uuid.uuid5(NAMESPACE, f"{kind}:{key}")


# --- the catalogue's keys, read from its files -----------------------------------------------


@dataclass(frozen=True)
class CatalogueKeys:
    """Areas with their procedures and keywords, as the catalogue files list them."""

    areas: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]

    def view(self) -> CatalogueView:
        return CatalogueView(
            version="files",
            area_names={a: {"en": a} for a in self.areas},
            procedure_names={p: {"en": p} for a in self.areas for p in self.areas[a][0]},
            procedure_areas={p: a for a, (ps, _) in self.areas.items() for p in ps},
            keywords={k: {"en": (k,)} for a in self.areas for k in self.areas[a][1]},
            keyword_areas={k: a for a, (_, ks) in self.areas.items() for k in ks},
        )

    def everything(self) -> tuple[Competence, ...]:
        return tuple(
            Competence(area=a, procedures=ps, keywords=ks)
            for a, (ps, ks) in sorted(self.areas.items())
        )

    def of_kind(self, kind: str, rng: random.Random | None = None) -> tuple[Competence, ...]:
        found = []
        for area, keywords in KIND_COMPETENCES[kind].items():
            if area not in self.areas:
                continue
            procedures, known = self.areas[area]
            chosen = [k for k in keywords if k in known]
            if rng is not None and len(chosen) > 2:
                chosen = sorted(rng.sample(chosen, rng.randint(2, len(chosen))), key=chosen.index)
            found.append(Competence(area=area, procedures=procedures, keywords=tuple(chosen)))
        return tuple(found)


def catalogue_keys(directory: Path = CATALOGUE_AREAS) -> CatalogueKeys:
    areas: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        procedures = tuple(p["key"] for p in data.get("procedures") or [])
        areas[data["key"]] = (procedures, tuple(data.get("keywords") or []))
    return CatalogueKeys(areas)


# --- places ----------------------------------------------------------------------------------


def place_name(region: geography.Region) -> str:
    """ISO 3166-2 sometimes inverts a name (``wallonne, Région``); readers expect it straight."""
    head, sep, tail = region.name.partition(", ")
    return f"{tail} {head}" if sep else region.name


def country_regions(country: str) -> tuple[list[geography.Region], list[geography.Region]]:
    """(top-level regions, regions inside another one) of a country."""
    regions = geography.country(country).regions
    top = [r for r in regions if r.parent is None]
    inner = [r for r in regions if r.parent is not None]
    return top, inner


def name_language(country: str, region: str | None = None) -> str:
    for code in geography.region_path(region) if region else ():
        if code in REGION_LANGUAGES:
            return REGION_LANGUAGES[code]
    found = DEMO_COUNTRIES.get(country)
    if found is not None:
        return found.name_language
    languages = geography.country(country).languages
    return languages[0] if languages else "en"


# --- the demo network ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAuthority:
    key: str
    fields: AuthorityFields


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    authority_key: str
    roles: tuple[Role, ...]
    language: str


def demo_network(keys: CatalogueKeys) -> tuple[list[DemoAuthority], list[DemoUser]]:
    authorities: list[DemoAuthority] = []
    users: list[DemoUser] = []
    for country, bodies in DEMO_COUNTRIES.items():
        language = bodies.name_language
        local_name = geography.country_name(country, language)
        english_name = geography.country_name(country, "en")
        email_domain = f"{country}.imi.example"
        authorities.append(
            DemoAuthority(
                f"{country}:coordinator",
                AuthorityFields(
                    country=country,
                    level=AuthorityLevel.NATIONAL,
                    official_name=bodies.coordinator,
                    name_language=language,
                    informal_titles={"en": f"National IMI coordinator – {english_name}"},
                    descriptions={
                        "en": f"Coordinates the Internal Market Information System in "
                        f"{english_name}: registers and validates competent authorities and "
                        "helps them with cross-border cooperation."
                    },
                    languages=tuple(dict.fromkeys((language, "en"))),
                    email=f"imi-coordination@{email_domain}",
                    coordinating=True,
                ),
            )
        )
        titles = {"en": bodies.competent_en}
        for title_language, template in NATIONAL_TITLE.items():
            if title_language != language:
                titles[title_language] = template.format(
                    country=geography.country_name(country, title_language)
                )
        authorities.append(
            DemoAuthority(
                f"{country}:national",
                AuthorityFields(
                    country=country,
                    level=AuthorityLevel.NATIONAL,
                    official_name=bodies.competent,
                    name_language=language,
                    informal_titles=titles,
                    descriptions={
                        "en": f"National competent authority of {english_name} for the "
                        "recognition of professional qualifications, services and the posting "
                        "of workers."
                    },
                    languages=tuple(dict.fromkeys((language, "en"))),
                    email=f"imi@{email_domain}",
                    phone="+32 2 299 11 11" if country == "be" else None,
                    competences=keys.everything(),
                ),
            )
        )
        top, inner = country_regions(country)
        if top:
            regional = top[0]
            place = place_name(regional)
            body_language = name_language(country, regional.code)
            authorities.append(
                DemoAuthority(
                    f"{country}:regional",
                    AuthorityFields(
                        country=country,
                        level=AuthorityLevel.REGIONAL,
                        region=regional.code,
                        official_name=KIND_NAMES[body_language]["education"].format(place=place),
                        name_language=body_language,
                        informal_titles={"en": KIND_NAMES["en"]["education"].format(place=place)},
                        descriptions={"en": KIND_DESCRIPTIONS_EN["education"].format(place=place)},
                        languages=(body_language,),
                        email=f"education.{regional.code.lower()}@{email_domain}",
                        competences=keys.of_kind("education"),
                    ),
                )
            )
            local = (inner or top)[len(inner or top) // 2]
            place = place_name(local)
            body_language = name_language(country, local.code)
            authorities.append(
                DemoAuthority(
                    f"{country}:local",
                    AuthorityFields(
                        country=country,
                        level=AuthorityLevel.LOCAL,
                        region=local.code,
                        official_name=KIND_NAMES[body_language]["municipality"].format(place=place),
                        name_language=body_language,
                        informal_titles={
                            "en": KIND_NAMES["en"]["municipality"].format(place=place)
                        },
                        descriptions={
                            "en": KIND_DESCRIPTIONS_EN["municipality"].format(place=place)
                        },
                        languages=(body_language,),
                        email=f"licences.{local.code.lower()}@{email_domain}",
                        address=PostalAddress(city=place),
                        competences=keys.of_kind("municipality"),
                    ),
                )
            )
        users.append(
            DemoUser(
                f"{country}-coordinator",
                f"IMI coordinator ({local_name})",
                f"{country}:coordinator",
                (Role(name=RoleName.NATIONAL_COORDINATOR), Role(name=RoleName.ALERT_COORDINATOR)),
                language,
            )
        )
        users.append(
            DemoUser(
                f"{country}-officer",
                f"IMI officer ({local_name})",
                f"{country}:national",
                (
                    Role(name=RoleName.REQUEST_HANDLER),
                    Role(name=RoleName.REQUEST_ALLOCATOR),
                    Role(name=RoleName.ALERT_HANDLER),
                    Role(name=RoleName.SUPERVISOR),
                ),
                language,
            )
        )
    authorities.append(
        DemoAuthority(
            "eu:commission",
            AuthorityFields(
                country=geography.COMMISSION_COUNTRY,
                level=AuthorityLevel.NATIONAL,
                official_name=COMMISSION_NAME,
                name_language="en",
                informal_titles={"en": "European Commission (IMI)"},
                languages=("en", "fr", "de"),
                email="imi-helpdesk@ec.imi.example",
            ),
        )
    )
    users.append(
        DemoUser(
            "commission",
            "European Commission – IMI team",
            "eu:commission",
            (Role(name=RoleName.COMMISSION),),
            "en",
        )
    )
    return authorities, users


async def seed_demo(settings: DirectorySettings, password: str, *, if_empty: bool = True) -> str:
    """Store the demo network (only what is missing); events for what was stored."""
    keys = catalogue_keys()
    view = keys.view()
    authorities, users = demo_network(keys)
    now = utc_now()
    db = Database(settings.sqlalchemy_url, pool_size=2)
    try:
        async with db.transaction() as session:
            repository = AuthorityRepository(session)
            if if_empty and await repository.count() > 0:
                return "directory: authorities present; demo network not seeded"
            rows = []
            for authority in authorities:
                fields = clean_authority(authority.fields, view, geography.PLACES, prefix="")
                rows.append(
                    {
                        "id": demo_id("authority", authority.key),
                        **authority_values(fields),
                        "status": AuthorityStatus.ACTIVE.value,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            inserted = set(await repository.add_missing(rows))
            stored = await repository.many(sorted(inserted))
            snapshots = [authority_snapshot(stored[i]) for i in sorted(inserted)]
            await repository.add_history(
                [
                    {
                        "authority_id": s.id,
                        "version": 1,
                        "action": SEED_ACTION,
                        "occurred_at": now,
                        "changes": changed_fields({}, s.model_dump(mode="json")),
                    }
                    for s in snapshots
                ]
            )
            await _events(
                session,
                [AuthorityRegistered(authority=s, occurred_at=now) for s in snapshots],
                [str(s.id) for s in snapshots],
            )
            password_hash = Passwords.from_settings(settings).hash_now(password)
            by_key = {a.key: a for a in authorities}
            user_rows = [
                {
                    "id": demo_id("user", user.username),
                    "username": user.username,
                    "display_name": user.display_name,
                    "email": f"{user.username}@{user.authority_key.split(':')[0]}.imi.example",
                    "authority_id": demo_id("authority", user.authority_key),
                    "country": by_key[user.authority_key].fields.country,
                    "language": user.language,
                    "roles": [r.model_dump() for r in user.roles],
                    "active": True,
                    "password_hash": password_hash,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for user in users
            ]
            user_repository = UserRepository(session)
            new_users = await user_repository.add_missing(user_rows)
            found_users = await user_repository.many(sorted(new_users))
            user_snapshots = [user_snapshot(found_users[i]) for i in sorted(new_users)]
            await user_repository.add_history(
                [
                    {
                        "user_id": u.id,
                        "version": 1,
                        "action": SEED_ACTION,
                        "occurred_at": now,
                        "changes": changed_fields({}, u.model_dump(mode="json")),
                    }
                    for u in user_snapshots
                ]
            )
            await _events(
                session,
                [UserRegistered(user=u, occurred_at=now) for u in user_snapshots],
                [str(u.id) for u in user_snapshots],
            )
        await notify_relays(db)
    finally:
        await db.dispose()
    return (
        f"directory: demo network seeded ({len(inserted)} authorities, {len(new_users)} users; "
        f"sign in as <cc>-coordinator, <cc>-officer or commission)"
    )


async def _events(session: Any, events: Sequence[Any], subjects: Sequence[str]) -> None:
    await outbox.add_envelopes(
        session,
        [
            (outbox.envelope(event, subject=subject), EVENTS_EXCHANGE, event.type, None)
            for event, subject in zip(events, subjects, strict=True)
        ],
    )


# --- generated networks ----------------------------------------------------------------------

AUTHORITY_COLUMNS = (
    "id", "country", "region", "level", "official_name", "name_language", "name_key",
    "informal_titles", "descriptions", "languages", "email", "phone", "website", "address",
    "competences", "coordinating", "status", "version", "registered_by", "created_at",
    "updated_at",
)  # fmt: skip
USER_COLUMNS = (
    "id", "username", "display_name", "email", "authority_id", "country", "language", "roles",
    "active", "password_hash", "version", "registered_by", "created_at", "updated_at",
)  # fmt: skip
USER_ROLES: tuple[tuple[Role, ...], ...] = (
    (Role(name=RoleName.REQUEST_HANDLER), Role(name=RoleName.ALERT_HANDLER)),
    (Role(name=RoleName.REQUEST_HANDLER), Role(name=RoleName.REQUEST_ALLOCATOR)),
    (Role(name=RoleName.REQUEST_HANDLER),),
    (Role(name=RoleName.LOCAL_DATA_ADMINISTRATOR), Role(name=RoleName.SUPERVISOR)),
    (Role(name=RoleName.READ_ONLY),),
)
FIRST_NAMES = ("Anna", "Jan", "Maria", "Pieter", "Sofia", "Luca", "Eva", "Mikko", "Ana", "Nikos")
LAST_NAMES = ("Novak", "Schmidt", "Silva", "Rossi", "Dubois", "Nowak", "Virtanen", "Papadopoulos")


def generated_authorities(
    count: int, keys: CatalogueKeys, rng: random.Random, offset: int, now: datetime
) -> list[tuple[Any, ...]]:
    """COPY records of ``count`` realistic authorities; names numbered from ``offset``."""
    countries = sorted(POPULATION)
    weights = [POPULATION[c] for c in countries]
    records: list[tuple[Any, ...]] = []
    languages_all = sorted(KIND_NAMES)
    regions = {c: country_regions(c) for c in countries}
    for index in range(count):
        country = rng.choices(countries, weights)[0]
        top, inner = regions[country]
        draw = rng.random()
        level = (
            AuthorityLevel.NATIONAL
            if draw < 0.05 or not top
            else AuthorityLevel.REGIONAL
            if draw < 0.3
            else AuthorityLevel.LOCAL
        )
        region = None
        if level is AuthorityLevel.REGIONAL:
            region = rng.choice(top)
        elif level is AuthorityLevel.LOCAL:
            region = rng.choice(inner or top)
        language = name_language(country, region.code if region else None)
        kind = rng.choice(KINDS if level is AuthorityLevel.LOCAL else KINDS[:-1])
        place = place_name(region) if region else geography.country_name(country, language)
        number = offset + index + 1
        name = f"{KIND_NAMES.get(language, KIND_NAMES['en'])[kind].format(place=place)} {number}"
        titles = {"en": f"{KIND_NAMES['en'][kind].format(place=place)} {number}"}
        others = [other for other in languages_all if other not in ("en", language)]
        for other in rng.sample(others, rng.randint(1, 3)):
            titles[other] = f"{KIND_NAMES[other][kind].format(place=place)} {number}"
        competences = keys.of_kind(kind, rng)
        if rng.random() < 0.15:  # some bodies also handle posting of workers or services
            extra_kind = rng.choice(("labour", "business"))
            present = {c.area for c in competences}
            competences += tuple(c for c in keys.of_kind(extra_kind, rng) if c.area not in present)
        records.append(
            (
                uuid.uuid4(),
                country,
                region.code if region else None,
                level.value,
                name,
                language,
                name_key(name),
                json.dumps(titles, ensure_ascii=False),
                json.dumps({"en": KIND_DESCRIPTIONS_EN[kind].format(place=place)}),
                list(dict.fromkeys((language, "en"))),
                f"contact{number}@{country}.imi.example",
                None,
                None,
                json.dumps(
                    {"street": None, "postal_code": None, "city": place}, ensure_ascii=False
                ),
                json.dumps([c.model_dump(mode="json") for c in competences]),
                False,
                AuthorityStatus.ACTIVE.value,
                1,
                None,
                now,
                now,
            )
        )
    return records


def generated_users(
    count: int,
    authorities: Sequence[tuple[Any, ...]],
    password_hash: str,
    rng: random.Random,
    offset: int,
    now: datetime,
) -> list[tuple[Any, ...]]:
    records: list[tuple[Any, ...]] = []
    for index in range(count):
        authority = (
            authorities[index % len(authorities)]
            if index < len(authorities)
            else (rng.choice(authorities))
        )
        number = offset + index + 1
        country = authority[1]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        roles = rng.choice(USER_ROLES)
        records.append(
            (
                uuid.uuid4(),
                f"{country}-user-{number:06d}",
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}.{number}@{country}.imi.example",
                authority[0],
                country,
                authority[5],
                json.dumps([r.model_dump() for r in roles]),
                True,
                password_hash,
                1,
                None,
                now,
                now,
            )
        )
    return records


async def generate(
    settings: DirectorySettings,
    authorities: int,
    users: int,
    password: str,
    *,
    events: bool = False,
    random_seed: int = 1,
    batch: int = 10_000,
) -> str:
    """Add ``authorities`` active authorities and ``users`` users to the database, fast."""
    keys = catalogue_keys()
    rng = random.Random(random_seed)
    now = utc_now()
    password_hash = Passwords.from_settings(settings).hash_now(password)
    db = Database(settings.sqlalchemy_url, pool_size=2)
    started = time.perf_counter()
    try:
        async with db.transaction() as session:
            repository = AuthorityRepository(session)
            offset = await repository.count()
            records = generated_authorities(authorities, keys, rng, offset, now)
            for start in range(0, len(records), batch):
                await repository.copy(
                    "authorities", AUTHORITY_COLUMNS, records[start : start + batch]
                )
            user_records: list[tuple[Any, ...]] = []
            if users and records:
                user_offset = await UserRepository(session).count()
                user_records = generated_users(users, records, password_hash, rng, user_offset, now)
                for start in range(0, len(user_records), batch):
                    await repository.copy(
                        "users", USER_COLUMNS, user_records[start : start + batch]
                    )
            await repository.add_bulk_history(now, "generated")
            loaded = time.perf_counter()
            await repository.rebuild_search()
            if events:
                await _generated_events(session, records, user_records, now)
        async with db.transaction() as session:
            await AuthorityRepository(session).analyze()
        if events:
            await notify_relays(db)
    finally:
        await db.dispose()
    return (
        f"directory: {len(records)} authorities and {users} users generated in "
        f"{time.perf_counter() - started:.1f} s (search rows {time.perf_counter() - loaded:.1f} s)"
    )


async def _generated_events(
    session: Any,
    records: Sequence[tuple[Any, ...]],
    user_records: Sequence[tuple[Any, ...]],
    now: datetime,
) -> None:
    repository = AuthorityRepository(session)
    users = UserRepository(session)
    for start in range(0, len(records), 1000):
        ids = [r[0] for r in records[start : start + 1000]]
        stored = await repository.many(ids)
        snapshots = [authority_snapshot(stored[i]) for i in ids]
        await _events(
            session,
            [AuthorityRegistered(authority=s, occurred_at=now) for s in snapshots],
            [str(s.id) for s in snapshots],
        )
    for start in range(0, len(user_records), 1000):
        ids = [r[0] for r in user_records[start : start + 1000]]
        found = await users.many(ids)
        user_snapshots = [user_snapshot(found[i]) for i in ids]
        await _events(
            session,
            [UserRegistered(user=u, occurred_at=now) for u in user_snapshots],
            [str(u.id) for u in user_snapshots],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.directory.seed")
    parser.add_argument(
        "--demo-if-empty", action="store_true", help="seed the demo network into an empty directory"
    )
    parser.add_argument("--demo", action="store_true", help="add what is missing of the demo")
    parser.add_argument("--authorities", type=int, default=0, help="generate N authorities")
    parser.add_argument("--users", type=int, default=0, help="generate M users")
    parser.add_argument(
        "--password",
        default=os.environ.get("IMI_DEMO_PASSWORD", "demo"),
        help="the password of generated users (one shared hash)",
    )
    parser.add_argument("--events", action="store_true", help="write events for what is generated")
    parser.add_argument("--random-seed", type=int, default=1)
    args = parser.parse_args(argv)
    settings = DirectorySettings()
    if not (args.demo_if_empty or args.demo or args.authorities):
        parser.error("nothing to do: --demo-if-empty, --demo or --authorities N")
    if args.demo_if_empty or args.demo:
        password = os.environ.get("IMI_DEMO_PASSWORD", "demo")
        print(asyncio.run(seed_demo(settings, password, if_empty=args.demo_if_empty)))
    if args.authorities:
        print(
            asyncio.run(
                generate(
                    settings,
                    args.authorities,
                    args.users,
                    args.password,
                    events=args.events,
                    random_seed=args.random_seed,
                )
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
