"""`python -m services.translation.catalogue_check [DIR]`: fails when any text is missing.

Every text of every area, procedure, question set, question and option, and every competence
keyword, must be present and non-empty in all 26 languages. Exit status 1 names what is missing.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from services.translation.catalogue_files import CATALOGUE_DIR, load_catalogue
from services.translation.domain import CatalogueError, MissingText


def check(directory: Path) -> tuple[list[MissingText], list[MissingText]]:
    """(missing texts, texts no structure uses) of the catalogue in ``directory``."""
    catalogue = load_catalogue(directory)
    return catalogue.missing_texts(), catalogue.unused_texts()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.translation.catalogue_check")
    parser.add_argument("directory", nargs="?", type=Path, default=CATALOGUE_DIR)
    parser.add_argument("--limit", type=int, default=50, help="how many missing texts to list")
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        missing, unused = check(args.directory)
    except CatalogueError as exc:
        out.write(f"catalogue invalid: {exc}\n")
        return 2
    for text in unused[: args.limit]:
        out.write(f"warning: unused text {text}\n")
    if not missing:
        catalogue = load_catalogue(args.directory)
        out.write(
            f"catalogue complete: version {catalogue.version}, {len(catalogue.procedures)} "
            f"procedures, {sum(len(q) for q in catalogue.questions.values())} questions, "
            f"{len(catalogue.keyword_areas)} keywords in 26 languages\n"
        )
        return 0
    per_language = Counter(m.language for m in missing)
    out.write(f"catalogue incomplete: {len(missing)} texts missing\n")
    for language, count in sorted(per_language.items()):
        out.write(f"  {language}: {count} missing\n")
    for text in missing[: args.limit]:
        out.write(f"missing {text}\n")
    if len(missing) > args.limit:
        out.write(f"... and {len(missing) - args.limit} more\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
