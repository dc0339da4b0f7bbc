"""Request models of the directory's internal HTTP API (answers are built in views.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.directory.domain import AuthorityFields
from shared.contracts.directory import AuthorityLevel, Competence, PostalAddress
from shared.identity import Role

# Generous limits here only stop absurd bodies early; domain.py gives the precise messages.
LONG = 10_000


class CompetenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area: str = Field(max_length=200)
    procedures: list[str] = Field(default_factory=list, max_length=500)
    keywords: list[str] = Field(default_factory=list, max_length=500)
    regions: list[str] = Field(default_factory=list, max_length=500)

    def contract(self) -> Competence:
        return Competence(
            area=self.area,
            procedures=tuple(self.procedures),
            keywords=tuple(self.keywords),
            regions=tuple(self.regions),
        )


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str | None = Field(default=None, max_length=LONG)
    postal_code: str | None = Field(default=None, max_length=LONG)
    city: str | None = Field(default=None, max_length=LONG)

    def contract(self) -> PostalAddress:
        return PostalAddress(street=self.street, postal_code=self.postal_code, city=self.city)


class AuthorityIn(BaseModel):
    """A coordinator's registration of an authority."""

    model_config = ConfigDict(extra="forbid")

    official_name: str = Field(max_length=LONG)
    name_language: str = Field(max_length=50)
    country: str = Field(max_length=50)
    region: str | None = Field(default=None, max_length=50)
    level: str = Field(max_length=50)
    informal_titles: dict[str, str] = Field(default_factory=dict, max_length=60)
    descriptions: dict[str, str] = Field(default_factory=dict, max_length=60)
    languages: list[str] = Field(default_factory=list, max_length=60)
    email: str | None = Field(default=None, max_length=LONG)
    phone: str | None = Field(default=None, max_length=LONG)
    website: str | None = Field(default=None, max_length=LONG)
    address: AddressIn | None = None
    competences: list[CompetenceIn] = Field(default_factory=list, max_length=200)
    coordinating: bool = False

    def fields(self) -> AuthorityFields:
        return AuthorityFields(
            country=self.country,
            level=self.level,  # type: ignore[arg-type]  # checked by clean_authority
            official_name=self.official_name,
            name_language=self.name_language,
            region=self.region,
            informal_titles=self.informal_titles,
            descriptions=self.descriptions,
            languages=tuple(self.languages),
            email=self.email,
            phone=self.phone,
            website=self.website,
            address=self.address.contract() if self.address else None,
            competences=tuple(c.contract() for c in self.competences),
            coordinating=self.coordinating,
        )


class AuthorityPatch(BaseModel):
    """The fields to change; an absent field stays as it is, null clears it."""

    model_config = ConfigDict(extra="forbid")

    official_name: str | None = Field(default=None, max_length=LONG)
    name_language: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=50)
    level: AuthorityLevel | None = None
    informal_titles: dict[str, str] | None = Field(default=None, max_length=60)
    descriptions: dict[str, str] | None = Field(default=None, max_length=60)
    languages: list[str] | None = Field(default=None, max_length=60)
    email: str | None = Field(default=None, max_length=LONG)
    phone: str | None = Field(default=None, max_length=LONG)
    website: str | None = Field(default=None, max_length=LONG)
    address: AddressIn | None = None
    competences: list[CompetenceIn] | None = Field(default=None, max_length=200)
    # Present so that an attempt is answered by name rather than as an unknown field.
    country: str | None = None
    coordinating: bool | None = None

    def changes(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "address" and value is not None:
                value = value.contract()
            elif name == "competences" and value is not None:
                value = tuple(c.contract() for c in value)
            elif name == "languages" and value is not None:
                value = tuple(value)
            found[name] = value
        return found


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    area: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=50)

    def contract(self) -> Role:
        return Role(name=self.name, area=self.area, region=self.region)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    display_name: str = Field(max_length=LONG)
    password: str = Field(max_length=1024)
    email: str | None = Field(default=None, max_length=LONG)
    language: str | None = Field(default=None, max_length=50)
    roles: list[RoleIn] = Field(default_factory=list, max_length=50)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=LONG)
    email: str | None = Field(default=None, max_length=LONG)
    language: str | None = Field(default=None, max_length=50)
    password: str | None = Field(default=None, max_length=1024)
    old_password: str | None = Field(default=None, max_length=1024)
    roles: list[RoleIn] | None = Field(default=None, max_length=50)

    def changes(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "roles":
                value = [r.model_dump() for r in value or []]
            found[name] = value
        return found


class CredentialsIn(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class FederatedIn(BaseModel):
    username: str = Field(max_length=200)
