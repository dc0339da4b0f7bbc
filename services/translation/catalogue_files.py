"""Reads the catalogue from its files: catalogue/areas/*.yaml and catalogue/texts/<lang>.yaml.

A new policy area is a new area file plus its texts; no code changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.translation.domain import (
    Catalogue,
    CatalogueError,
    check_unique_keys,
    content_version,
    parse_area,
    split_language_file,
    structure_document,
)
from shared.contracts.translation import LANGUAGES

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_cache: dict[tuple[Any, ...], Catalogue] = {}


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader=_Loader)  # noqa: S506 (CSafeLoader is the safe loader)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: not valid YAML: {exc}") from exc


def _signature(directory: Path) -> tuple[Any, ...]:
    files = sorted((directory / "areas").glob("*.yaml")) + sorted(
        (directory / "texts").glob("*.yaml")
    )
    return (str(directory), *((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))


def load_catalogue(directory: Path = CATALOGUE_DIR, version: str | None = None) -> Catalogue:
    """The catalogue the files describe; its version is the content hash unless one is given.

    Raises CatalogueError when a file is malformed. Missing texts are not an error here: the
    completeness check reports them.
    """
    signature = (*_signature(directory), version)
    cached = _cache.get(signature)
    if cached is not None:
        return cached
    area_files = sorted((directory / "areas").glob("*.yaml"))
    if not area_files:
        raise CatalogueError(f"no area files in {directory / 'areas'}")
    areas = tuple(parse_area(_read_yaml(path), path.name) for path in area_files)
    check_unique_keys(areas)
    texts: dict[str, dict[str, str]] = {}
    keywords: dict[str, dict[str, tuple[str, ...]]] = {}
    for language in LANGUAGES:
        path = directory / "texts" / f"{language}.yaml"
        if path.exists():
            texts[language], keywords[language] = split_language_file(language, _read_yaml(path))
    catalogue = Catalogue(
        version=version or content_version(structure_document(areas), texts, keywords),
        areas=areas,
        texts=texts,
        keywords=keywords,
    )
    _cache.clear()
    _cache[signature] = catalogue
    return catalogue
