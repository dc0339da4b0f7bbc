"""`python -m services.translation.seed --demo-if-empty`: publish the catalogue files' version.

Idempotent: a version already stored is not stored or announced again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.translation.catalogue_files import load_catalogue
from services.translation.models import outbox
from services.translation.service import publish_catalogue, republish_current, utc_now
from services.translation.settings import TranslationSettings
from shared.db import Database
from shared.messaging import notify_relays


async def seed(settings: TranslationSettings, *, republish: bool = False) -> str:
    catalogue = load_catalogue(settings.catalogue_dir, settings.catalogue_version)
    db = Database(settings.sqlalchemy_url, pool_size=2)
    try:
        async with db.transaction() as session:
            new = await publish_catalogue(session, outbox, catalogue, utc_now())
            if republish and not new:
                await republish_current(session, outbox, utc_now())
        # Wake the running service's relay; otherwise it publishes on its next poll.
        await notify_relays(db)
    finally:
        await db.dispose()
    missing = len(catalogue.missing_texts())
    state = "published" if new else "already published"
    note = f"; {missing} texts missing" if missing else ""
    return f"translation: catalogue version {catalogue.version} {state}{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.translation.seed")
    parser.add_argument(
        "--demo-if-empty",
        action="store_true",
        help="publish the catalogue files (the demo needs nothing else from this service)",
    )
    parser.add_argument("--version", help="explicit version id instead of the content hash")
    parser.add_argument(
        "--republish", action="store_true", help="announce the current version again"
    )
    args = parser.parse_args(argv)
    settings = TranslationSettings()
    if args.version:
        settings = settings.model_copy(update={"catalogue_version": args.version})
    print(asyncio.run(seed(settings, republish=args.republish)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
