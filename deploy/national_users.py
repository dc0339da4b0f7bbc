"""Broker users of national IT systems: one per country, limited by RabbitMQ itself.

    python deploy/national_users.py create de [--vhost /]   # prints the credentials once
    python deploy/national_users.py revoke de [--vhost /]

The user ``imi-national-<cc>`` may publish on ``imi.inbound`` only with routing keys
``<cc>.*`` and bind its queues to ``imi.outbound`` only with keys ``<cc>.#`` (topic
permissions); it may declare, consume and bind only queues named ``imi-national-<cc>.*``
(its reply queue and its event queue), and it publishes replies to nobody. The broker
validates the ``user_id`` property of every message against the connection's user, so a
system cannot pass itself off as another country's; the services take commands for ``<cc>``
only from ``imi-national-<cc>``. Needs ``rabbitmqctl`` on the broker's host (or in its
container).
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
import time
from urllib.parse import quote

PREFIX = "imi-national-"
COUNTRY = re.compile(r"^[a-z]{2}$")


def rabbitmqctl(*args: str, attempts: int = 3) -> str:
    """Run one rabbitmqctl command; a busy node's transient failure is tried again."""
    error = ""
    for attempt in range(attempts):
        result = subprocess.run(
            ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode == 0:
            return result.stdout
        error = (result.stderr or result.stdout).strip()
        time.sleep(1 + attempt)
    raise SystemExit(f"rabbitmqctl {args[0]} failed: {error}")


def user_name(country: str) -> str:
    return f"{PREFIX}{country}"


def permissions(country: str) -> tuple[str, str, str]:
    """(configure, write, read) regular expressions of the country's user."""
    own = rf"{re.escape(user_name(country))}\..*"
    return (f"^{own}$", rf"^(imi\.inbound|{own})$", rf"^(imi\.outbound|{own})$")


def create(country: str, vhost: str, host: str) -> str:
    """Create (or reset) the country's user; returns the password."""
    user = user_name(country)
    password = secrets.token_urlsafe(24)
    existing = rabbitmqctl("list_users").split()
    if user in existing:
        rabbitmqctl("change_password", user, password)
    else:
        rabbitmqctl("add_user", user, password)
    rabbitmqctl("set_user_tags", user)
    configure, write, read = permissions(country)
    rabbitmqctl("set_permissions", "-p", vhost, user, configure, write, read)
    rabbitmqctl("set_topic_permissions", "-p", vhost, user, "imi.inbound", f"^{country}\\.", "^$")
    rabbitmqctl("set_topic_permissions", "-p", vhost, user, "imi.outbound", "^$", f"^{country}\\.")
    sys.stdout.write(
        f"broker user {user} on vhost {vhost!r} (shown once, keep it safe):\n"
        f"  password: {password}\n"
        f"  url: amqp://{user}:{password}@{host}/{quote(vhost, safe='')}\n"
        f"  publish commands on imi.inbound with routing keys {country}.<command> and "
        f"user_id {user}\n"
        f"  bind queues named {user}.<name> to imi.outbound with keys {country}.#\n"
    )
    return password


def revoke(country: str) -> None:
    rabbitmqctl("delete_user", user_name(country))
    sys.stdout.write(f"broker user {user_name(country)} deleted\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/national_users.py")
    parser.add_argument("action", choices=("create", "revoke"))
    parser.add_argument("country", help="ISO 3166-1 alpha-2 code, lower case (de)")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--host", default="127.0.0.1:5672", help="shown in the printed URL")
    args = parser.parse_args(argv)
    country = args.country.lower()
    if not COUNTRY.match(country):
        parser.error("country: two letters, e.g. de")
    if args.action == "create":
        create(country, args.vhost, args.host)
    else:
        revoke(country)
    return 0


if __name__ == "__main__":
    sys.exit(main())
