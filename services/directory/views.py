"""What the internal API shows: authorities, users, history and search hits, every name of the
catalogue and every country in the reader's language."""

from __future__ import annotations

from typing import Any

from services.directory import geography
from services.directory.domain import (
    MATCH_NAMES,
    CatalogueView,
    SearchFilters,
    SearchPlan,
    competences_view,
    localized,
    matched_competences,
    rank_score,
)
from services.directory.models import AuthorityHistory, UserHistory
from services.directory.repository import SearchHit
from shared.contracts.directory import AuthoritySnapshot, UserSnapshot


def _place(authority: AuthoritySnapshot, language: str) -> dict[str, Any]:
    return {
        "country": authority.country,
        "country_name": geography.country_name(authority.country, language),
        "region": authority.region,
        "region_name": geography.region_name(authority.region),
    }


def authority_out(
    authority: AuthoritySnapshot,
    language: str,
    catalogue: CatalogueView | None,
    allowed_actions: list[str],
) -> dict[str, Any]:
    return {
        "id": str(authority.id),
        **_place(authority, language),
        "level": authority.level.value,
        "official_name": authority.official_name,
        "name_language": authority.name_language,
        "informal_title": localized(authority.informal_titles, language, authority.name_language),
        "description": localized(authority.descriptions, language, authority.name_language),
        "informal_titles": dict(authority.informal_titles),
        "descriptions": dict(authority.descriptions),
        "languages": list(authority.languages),
        "email": authority.email,
        "phone": authority.phone,
        "website": authority.website,
        "address": authority.address.model_dump() if authority.address else None,
        "competences": competences_view(authority.competences, catalogue, language),
        "coordinating": authority.coordinating,
        "status": authority.status.value,
        "version": authority.version,
        "registered_at": _time(authority.registered_at),
        "updated_at": _time(authority.updated_at),
        "language": language,
        "allowed_actions": allowed_actions,
    }


def search_hit_out(
    authority: AuthoritySnapshot,
    hit: SearchHit,
    plan: SearchPlan,
    filters: SearchFilters,
    catalogue: CatalogueView | None,
    language: str,
) -> dict[str, Any]:
    """One result: who, where, and the competences through which it matched."""
    return {
        "id": str(authority.id),
        "official_name": authority.official_name,
        "name_language": authority.name_language,
        "informal_title": localized(authority.informal_titles, language, authority.name_language),
        "description": localized(authority.descriptions, language, authority.name_language),
        **_place(authority, language),
        "level": authority.level.value,
        "status": authority.status.value,
        "languages": list(authority.languages),
        "email": authority.email,
        "phone": authority.phone,
        "areas": [
            {
                "key": c.area,
                "name": catalogue.area_name(c.area, language) if catalogue else c.area,
            }
            for c in authority.competences
        ],
        "matched_competences": matched_competences(
            authority.competences, plan, filters, catalogue, language
        ),
        "match": MATCH_NAMES[hit.match],
        "score": rank_score(hit.match, hit.outside_region, hit.breadth),
    }


def interpretation_out(
    plan: SearchPlan, catalogue: CatalogueView | None, language: str
) -> dict[str, Any]:
    """What the query was understood as, so the reader sees why these authorities came up."""
    return {
        "q": plan.text,
        "language": plan.language,
        "keywords": [
            {
                "key": key,
                "term": catalogue.keyword_term(key, language) if catalogue else key,
                "matched_term": match.entry.term,
                "matched_language": match.entry.language,
                "exact": match.exact,
            }
            for key, match in sorted(
                plan.all_keyword_matches.items(), key=lambda kv: (not kv[1].exact, kv[0])
            )
        ],
        "procedures": [
            {"key": key, "name": catalogue.procedure_name(key, language) if catalogue else key}
            for key in sorted(plan.procedure_matches)
        ],
        "areas": [
            {"key": key, "name": catalogue.area_name(key, language) if catalogue else key}
            for key in sorted(plan.area_matches)
        ],
    }


def user_out(user: UserSnapshot) -> dict[str, Any]:
    data = user.model_dump(mode="json")
    data["roles"] = [role.model_dump() for role in user.roles]
    return data


def history_out(entry: AuthorityHistory | UserHistory) -> dict[str, Any]:
    return {
        "id": entry.id,
        "version": entry.version,
        "action": entry.action,
        "actor": {
            "user_id": str(entry.actor_id) if entry.actor_id else None,
            "username": entry.actor_username,
        },
        "occurred_at": _time(entry.occurred_at),
        "changes": entry.changes,
        "reason": getattr(entry, "reason", None),
    }


def country_out(code: str, language: str) -> dict[str, Any]:
    country = geography.country(code)
    return {
        "code": code,
        "name": geography.country_name(code, language),
        "languages": list(country.languages),
        "regions": [
            {"code": r.code, "name": r.name, "type": r.type, "parent": r.parent}
            for r in country.regions
        ],
    }


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
