"""Attachments: streamed in and out, checksummed, limited in size, told apart by their bytes,
refused without a trace when too large or disguised; personal-data attachments are read like
personal data."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.exchange.conftest import RunningExchange

PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    + b"0" * 4000
    + b"\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 500
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 500


def office(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            archive.writestr(member, "<xml/>")
    return buffer.getvalue()


DOCX = office("[Content_Types].xml", "word/document.xml", "_rels/.rels")
DOCM = office("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin")


def stored_files(exchange: RunningExchange) -> list[Path]:
    root = exchange.settings.attachments_path
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def upload(
    exchange: RunningExchange,
    request: dict[str, Any],
    content: bytes | AsyncIterator[bytes],
    *,
    user: str = "pt_officer",
    filename: str | None = "diploma.pdf",
    content_type: str | None = "application/pdf",
    **params: Any,
) -> Any:
    headers = exchange.headers(user)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if filename is not None:
        params["filename"] = filename
    return await exchange.client.post(
        f"/v1/requests/{request['id']}/attachments", content=content, params=params, headers=headers
    )


async def attachment_rows(exchange: RunningExchange) -> int:
    return int((await exchange.sql("SELECT count(*) FROM attachments"))[0][0])


async def chunked(data: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class TestUpload:
    async def test_a_pdf_is_stored_with_its_checksum_size_and_sniffed_type(
        self, exchange: RunningExchange
    ) -> None:
        draft = await exchange.create()
        response = await upload(exchange, draft, PDF)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert body["size"] == len(PDF)
        assert body["content_type"] == "application/pdf"
        assert body["filename"] == "diploma.pdf"
        assert body["personal_data"] is True
        assert body["side"] == "requester"
        assert response.headers["location"].endswith(f"/attachments/{body['id']}")
        assert any(p.read_bytes() == PDF for p in stored_files(exchange))
        listed = await exchange.client.get(
            f"/v1/requests/{draft['id']}/attachments", headers=exchange.headers("pt_officer")
        )
        assert [a["id"] for a in listed.json()["items"]] == [body["id"]]
        detail = (await exchange.get("pt_officer", draft["id"])).json()
        assert detail["attachments"][0]["sha256"] == body["sha256"]
        assert detail["version"] == draft["version"]

    async def test_a_streamed_upload_without_length_is_counted_as_it_arrives(
        self, exchange: RunningExchange
    ) -> None:
        draft = await exchange.create()
        data = PDF + b"1" * 100_000
        response = await upload(exchange, draft, chunked(data))
        assert response.status_code == 201, response.text
        assert response.json()["size"] == len(data)

    async def test_the_bytes_decide_the_type_not_the_header(
        self, exchange: RunningExchange
    ) -> None:
        draft = await exchange.create()
        response = await upload(
            exchange, draft, PNG, filename="scan", content_type="application/octet-stream"
        )
        assert response.status_code == 201, response.text
        assert response.json()["content_type"] == "image/png"

    async def test_an_office_document_is_accepted_one_with_macros_is_not(
        self, exchange: RunningExchange
    ) -> None:
        draft = await exchange.create()
        accepted = await upload(exchange, draft, DOCX, filename="decision.docx", content_type=None)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["content_type"].endswith("wordprocessingml.document")
        refused = await upload(exchange, draft, DOCM, filename="decision.docx", content_type=None)
        assert refused.status_code == 415

    @pytest.mark.parametrize(
        ("content", "filename", "content_type", "status", "field"),
        [
            (EXECUTABLE, "diploma.pdf", "application/pdf", 415, "body"),
            (PNG, "diploma.pdf", None, 422, "query.filename"),
            (PDF, "diploma", "image/png", 422, "headers.content-type"),
            (b"", "empty.txt", "text/plain", 422, "body"),
            (PDF, None, "application/pdf", 422, "query.filename"),
        ],
    )
    async def test_a_disguised_or_empty_file_is_refused_and_leaves_nothing(
        self,
        exchange: RunningExchange,
        content: bytes,
        filename: str | None,
        content_type: str | None,
        status: int,
        field: str,
    ) -> None:
        draft = await exchange.create()
        rows, files = await attachment_rows(exchange), len(stored_files(exchange))
        response = await upload(
            exchange, draft, content, filename=filename, content_type=content_type
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]]
        assert await attachment_rows(exchange) == rows
        assert len(stored_files(exchange)) == files

    @pytest.mark.parametrize("streamed", [False, True])
    async def test_an_oversized_file_is_413_and_leaves_nothing(
        self, exchange: RunningExchange, streamed: bool
    ) -> None:
        draft = await exchange.create()
        rows, files = await attachment_rows(exchange), len(stored_files(exchange))
        data = PDF + b"x" * exchange.settings.attachment_max_bytes
        response = await upload(exchange, draft, chunked(data) if streamed else data)
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["field"] == "body"
        assert await attachment_rows(exchange) == rows
        assert len(stored_files(exchange)) == files

    async def test_a_browser_form_upload_is_streamed_too(self, exchange: RunningExchange) -> None:
        draft = await exchange.create()
        response = await exchange.client.post(
            f"/v1/requests/{draft['id']}/attachments",
            data={"personal_data": "false"},
            files={"file": ("Zertifikat.pdf", PDF, "application/pdf")},
            headers=exchange.headers("pt_officer"),
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["filename"] == "Zertifikat.pdf"
        assert body["personal_data"] is False
        assert body["sha256"] == hashlib.sha256(PDF).hexdigest()

    async def test_a_form_without_a_file_part_is_422(self, exchange: RunningExchange) -> None:
        draft = await exchange.create()
        response = await exchange.client.post(
            f"/v1/requests/{draft['id']}/attachments",
            files={"other": ("x.pdf", PDF, "application/pdf")},
            headers=exchange.headers("pt_officer"),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.file"

    async def test_only_the_side_whose_turn_it_is_adds_files(
        self, exchange: RunningExchange
    ) -> None:
        sent = await exchange.sent()
        assert (await upload(exchange, sent, PDF, user="de_officer")).status_code == 409
        accepted = await exchange.act("de_officer", sent, "accept")
        assert (await upload(exchange, accepted, PDF, user="pt_officer")).status_code == 403
        assert (await upload(exchange, accepted, PDF, user="fr_officer")).status_code == 404
        added = await upload(exchange, accepted, PDF, user="de_officer")
        assert added.status_code == 201
        assert added.json()["side"] == "responder"


class TestDownload:
    async def test_the_file_streams_back_with_its_sniffed_type(
        self, exchange: RunningExchange
    ) -> None:
        sent_draft = await exchange.create()
        stored = (
            await upload(
                exchange,
                sent_draft,
                PNG,
                filename="Übersicht scan.png",
                content_type="image/png",
                personal_data="false",
            )
        ).json()
        sent = await exchange.act("pt_officer", sent_draft, "send")
        response = await exchange.client.get(
            f"/v1/requests/{sent['id']}/attachments/{stored['id']}",
            headers=exchange.headers("de_coordinator"),
        )
        assert response.status_code == 200, response.text
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["etag"] == f'"{stored["sha256"]}"'
        assert (
            "filename*=UTF-8''%C3%9Cbersicht%20scan.png" in response.headers["content-disposition"]
        )

    async def test_a_personal_attachment_is_read_with_a_purpose_and_recorded(
        self, exchange: RunningExchange
    ) -> None:
        draft = await exchange.create()
        stored = (await upload(exchange, draft, PDF)).json()
        sent = await exchange.act("pt_officer", draft, "send")
        url = f"/v1/requests/{sent['id']}/attachments/{stored['id']}"
        missing = await exchange.client.get(url, headers=exchange.headers("de_officer"))
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "query.purpose"
        coordinator = await exchange.client.get(
            url, params={"purpose": "look"}, headers=exchange.headers("de_coordinator")
        )
        assert coordinator.status_code == 403
        read = await exchange.client.get(
            url, params={"purpose": "check the diploma"}, headers=exchange.headers("de_officer")
        )
        assert read.status_code == 200
        assert read.content == PDF
        log = await exchange.client.get(
            f"/v1/requests/{sent['id']}/access-log", headers=exchange.headers("pt_supervisor")
        )
        [entry] = log.json()["items"]
        assert entry["record"] == f"attachment:{stored['id']}"
        assert entry["purpose"] == "check the diploma"
        assert entry["user_id"] == str(exchange.network["de_officer"].id)

    async def test_an_attachment_of_another_request_is_404(self, exchange: RunningExchange) -> None:
        first, second = await exchange.create(), await exchange.create()
        stored = (await upload(exchange, first, PDF)).json()
        response = await exchange.client.get(
            f"/v1/requests/{second['id']}/attachments/{stored['id']}",
            params={"purpose": "x"},
            headers=exchange.headers("pt_officer"),
        )
        assert response.status_code == 404


class TestDocumentAnswers:
    async def test_an_answer_names_a_document_the_responder_added(
        self, exchange: RunningExchange
    ) -> None:
        draft = await exchange.create()
        requester_file = (await upload(exchange, draft, PDF, personal_data="false")).json()
        accepted = await exchange.act(
            "de_officer", await exchange.act("pt_officer", draft, "send"), "accept"
        )
        proof = (
            await upload(exchange, accepted, PDF, user="de_officer", personal_data="false")
        ).json()
        wrong = await exchange.act(
            "de_officer",
            accepted,
            "answer",
            {
                "answers": [
                    {
                        "question": "pq_registration_proof",
                        "answer": {"document": requester_file["id"]},
                    }
                ]
            },
            expect=422,
        )
        assert wrong["errors"][0]["field"] == "body.answers[0].answer.document"
        answered = await exchange.act(
            "de_officer",
            accepted,
            "answer",
            {
                "answers": [
                    {"question": "pq_registration_proof", "answer": {"document": proof["id"]}}
                ]
            },
        )
        assert answered["state"] == "answered"
        marked = {a["id"]: a["personal_data"] for a in answered["attachments"]}
        assert marked[proof["id"]] is True  # the answer to a personal-data question
        assert marked[requester_file["id"]] is False
        personal = await exchange.client.get(
            f"/v1/requests/{accepted['id']}/personal-data",
            params={"purpose": "see the proof"},
            headers=exchange.headers("pt_officer"),
        )
        answers = {a["question"]: a["answer"] for a in personal.json()["answers"]}
        assert answers["pq_registration_proof"] == {"document": proof["id"]}
