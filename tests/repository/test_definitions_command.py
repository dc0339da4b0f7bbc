"""A new repository is a file and one command: check and load without a restart."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml

from services.repository.definitions_command import main
from services.repository.settings import SHIPPED_DEFINITIONS
from tests.repository.conftest import RepositoryService

VETS = {
    "key": "veterinary_registers",
    "titles": {"en": "Registers of veterinary surgeons", "de": "Register der Tierärzte"},
    "title_field": "name",
    "read": {"all_users": True},
    "write": [{"roles": ["local_data_administrator"], "authorities": {"coordinating": True}}],
    "fields": [
        {"name": "name", "type": "text", "required": True, "searchable": True},
        {"name": "country", "type": "country", "required": True},
    ],
}


def _copy_of(directory: Path, target: Path) -> Path:
    for path in directory.iterdir():
        shutil.copy(path, target / path.name)
    return target


class TestCheck:
    def test_the_shipped_definitions_are_valid(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["check", "--dir", str(SHIPPED_DEFINITIONS)]) == 0
        printed = capsys.readouterr().out
        assert "ok registers" in printed
        assert "ok euro_cash_transport" in printed

    def test_a_bad_file_is_named(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        _copy_of(SHIPPED_DEFINITIONS, tmp_path)
        (tmp_path / "broken.yaml").write_text(yaml.safe_dump({"key": "broken", "fields": 3}))
        assert main(["check", "--dir", str(tmp_path)]) == 2
        assert "broken.yaml" in capsys.readouterr().err


class TestLoad:
    async def test_a_new_file_becomes_a_repository_without_restart(
        self, repo: RepositoryService, tmp_path: Path
    ) -> None:
        directory = _copy_of(repo.settings.definitions_dir, tmp_path)
        (directory / "veterinary_registers.yaml").write_text(yaml.safe_dump(VETS))
        code = await asyncio.to_thread(main, ["load", "--dir", str(directory)], repo.settings)
        assert code == 0
        listed = await repo.get("de-cash-reader", "/v1/repositories")
        by_key = {r["key"]: r for r in listed.json()["items"]}
        assert by_key["veterinary_registers"]["title"] == "Register der Tierärzte"
        await repo.tap.wait_for("repository.definition.loaded", key="veterinary_registers")
        # Loading the same files again changes nothing and announces nothing.
        assert await asyncio.to_thread(main, ["load", "--dir", str(directory)], repo.settings) == 0
        await asyncio.sleep(0.5)
        announced = repo.tap.of_type("repository.definition.loaded", key="veterinary_registers")
        assert len(announced) == 1

    async def test_a_bad_file_stores_nothing(self, repo: RepositoryService, tmp_path: Path) -> None:
        directory = _copy_of(repo.settings.definitions_dir, tmp_path)
        changed = dict(VETS, key="dental_registers")
        (directory / "dental.yaml").write_text(yaml.safe_dump(changed))
        (directory / "zz_broken.json").write_text("{not json")
        before = await repo.fetch("SELECT key, fingerprint FROM repository_definitions")
        code = await asyncio.to_thread(main, ["load", "--dir", str(directory)], repo.settings)
        assert code == 2
        after = await repo.fetch("SELECT key, fingerprint FROM repository_definitions")
        assert sorted(after) == sorted(before)
