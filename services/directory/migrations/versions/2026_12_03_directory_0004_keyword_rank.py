"""each competence keyword's authorities in rank order

A search for a keyword across every country had two plans, both slow for a common keyword: walk
the rank index and recheck each row's keywords (tens of thousands of rows when the keyword's
holders rank low), or collect every holder and sort them (10,000 rows of heap for one page).
``authority_keyword_rank`` holds (keyword, status, breadth, sort name, authority) for every
keyword of every search row, so the first page of a keyword is the first entries of its range
in an index; statement triggers on ``authority_search`` keep it, so every writer of the search
rows (one authority, an import, a bulk load) keeps it without knowing.

Revision ID: directory_0004
Revises: directory_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "directory_0004"
down_revision: str | None = "directory_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTINGS = (
    "INSERT INTO authority_keyword_rank (keyword, status, breadth, sort_name, authority_id) "
    "SELECT DISTINCT k, r.status, r.breadth, r.sort_name, r.authority_id "
    "FROM {rows} AS r, unnest(r.keywords) AS k"
)


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE authority_keyword_rank (
  keyword text NOT NULL,
  status text NOT NULL,
  breadth integer NOT NULL,
  sort_name text NOT NULL,
  authority_id uuid NOT NULL,
  CONSTRAINT pk_authority_keyword_rank
    PRIMARY KEY (keyword, status, breadth, sort_name, authority_id)
)"""
    )
    op.execute(
        "CREATE INDEX ix_authority_keyword_rank_authority ON authority_keyword_rank (authority_id)"
    )
    op.execute(
        f"""
CREATE FUNCTION authority_keyword_rank_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM authority_keyword_rank
      WHERE authority_id IN (SELECT authority_id FROM old_rows);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_POSTINGS.format(rows="new_rows")};
  END IF;
  RETURN NULL;
END
$$"""
    )
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER authority_keyword_rank_{event.lower()} AFTER {event} "
            f"ON authority_search REFERENCING {tables} "
            "FOR EACH STATEMENT EXECUTE FUNCTION authority_keyword_rank_keep()"
        )
    op.execute(_POSTINGS.format(rows="authority_search"))


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER authority_keyword_rank_{event} ON authority_search")
    op.execute("DROP FUNCTION authority_keyword_rank_keep()")
    op.execute("DROP TABLE authority_keyword_rank")
