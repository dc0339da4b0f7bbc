"""Load or check repository definitions without restarting the service.

    python -m services.repository.definitions_command check [--dir DIR]
    python -m services.repository.definitions_command load [--dir DIR]

``check`` validates every definition file (no database needed; CI runs it); ``load`` validates
them all, then stores them in one transaction and announces the new or changed ones
(``repository.definition.loaded``), so a new repository is added by dropping a file in the
directory and running one command. A bad file stores nothing and is named on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from services.repository.service import (
    InvalidDefinition,
    load_definitions,
    read_definitions,
    utc_now,
)
from services.repository.settings import RepositorySettings
from shared.db import Database
from shared.messaging import notify_relays


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.repository.definitions_command")
    parser.add_argument("action", choices=("check", "load"))
    parser.add_argument("--dir", type=Path, default=None, help="definitions directory")
    return parser.parse_args(argv)


async def _load(settings: RepositorySettings, directory: Path) -> list[str]:
    db = Database(settings.sqlalchemy_url, pool_size=1)
    try:
        changed = await load_definitions(db, directory, utc_now())
        await notify_relays(db)  # a running relay publishes the announcements now
        return changed
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None, settings: RepositorySettings | None = None) -> int:
    args = _arguments(argv)
    settings = settings or RepositorySettings()
    directory: Path = args.dir or settings.definitions_dir
    try:
        definitions = read_definitions(directory)
        if args.action == "check":
            for definition in definitions:
                sys.stdout.write(f"ok {definition.key} ({len(definition.fields)} fields)\n")
            return 0
        changed = asyncio.run(_load(settings, directory))
    except InvalidDefinition as exc:
        sys.stderr.write(f"invalid definition: {exc}\n")
        return 2
    except FileNotFoundError as exc:
        sys.stderr.write(f"no definitions directory: {exc.filename}\n")
        return 2
    sys.stdout.write(f"{len(definitions)} definitions, changed: {', '.join(changed) or 'none'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
