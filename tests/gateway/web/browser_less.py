"""A signed-in web user as the tests drive it: cookies, the CSRF field of each page's forms."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.stack import DEMO_PASSWORD, Stack

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def web_client(stack: Stack, language: str | None = None) -> httpx.Client:
    headers = {"accept-language": language} if language else {}
    return httpx.Client(base_url=stack.gateway, headers=headers, timeout=30)


def sign_in(stack: Stack, username: str, language: str | None = None) -> httpx.Client:
    client = web_client(stack, language)
    page = client.get("/login")
    assert page.status_code == 200
    done = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "username": username,
            "password": DEMO_PASSWORD,
            "next": "/",
        },
    )
    assert done.status_code == 303, done.text
    return client


def post_form(client: httpx.Client, page_url: str, action: str, **fields: Any) -> httpx.Response:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={"csrf_token": csrf_of(page.text), **fields})
