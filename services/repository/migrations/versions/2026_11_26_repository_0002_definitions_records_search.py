"""definitions, directory projection, records, history, personal-data reads, text search

Revision ID: repository_0002
Revises: repository_0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "repository_0002"
down_revision: str | None = "repository_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The network's 26 languages and PostgreSQL 15's Snowball stemmer for each, where one exists;
# the others are folded (lower case, unaccented) without stemming.
STEMMERS = {
    "bg": None, "cs": None, "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "et": None, "fi": "finnish", "fr": "french", "ga": "irish",
    "hr": None, "hu": "hungarian", "it": "italian", "lt": "lithuanian", "lv": None,
    "mt": None, "nl": "dutch", "pl": None, "pt": "portuguese", "ro": "romanian", "sk": None,
    "sl": None, "sv": "swedish", "is": None, "no": "norwegian",
}  # fmt: skip
TOKEN_TYPES = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"
TZ = sa.DateTime(timezone=True)


def _configurations() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION imi_simple (COPY = simple)")
    op.execute(
        f"ALTER TEXT SEARCH CONFIGURATION imi_simple ALTER MAPPING FOR {TOKEN_TYPES} "
        "WITH unaccent, simple"
    )
    for language, stemmer in STEMMERS.items():
        source = stemmer or "simple"
        dictionary = f"{stemmer}_stem" if stemmer else "simple"
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION imi_{language} (COPY = {source})")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION imi_{language} ALTER MAPPING FOR {TOKEN_TYPES} "
            f"WITH unaccent, {dictionary}"
        )
    cases = "\n".join(
        f"    WHEN '{language}' THEN 'imi_{language}'::regconfig" for language in STEMMERS
    )
    op.execute(
        f"""
CREATE FUNCTION repository_ts_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE language
{cases}
    ELSE 'imi_simple'::regconfig
  END
$$"""
    )
    # Texts by language ("" for texts of no language: names, numbers): each in its language's
    # configuration (stems) and in imi_simple (whole words as written, for prefixes and for a
    # reader typing a word of another language); the title weighs most.
    op.execute(
        """
CREATE FUNCTION repository_tsvector(title jsonb, texts jsonb) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  doc tsvector := ''::tsvector;
  part tsvector;
  entry record;
BEGIN
  FOR entry IN SELECT key, value FROM jsonb_each_text(coalesce(title, '{}'::jsonb)) LOOP
    part := to_tsvector('imi_simple'::regconfig, entry.value);
    IF entry.key <> '' THEN
      part := to_tsvector(repository_ts_config(entry.key), entry.value) || part;
    END IF;
    doc := doc || setweight(part, 'A');
  END LOOP;
  FOR entry IN SELECT key, value FROM jsonb_each_text(coalesce(texts, '{}'::jsonb)) LOOP
    part := to_tsvector('imi_simple'::regconfig, entry.value);
    IF entry.key <> '' THEN
      part := to_tsvector(repository_ts_config(entry.key), entry.value) || part;
    END IF;
    doc := doc || part;
  END LOOP;
  RETURN doc;
END
$$"""
    )
    all_languages = ", ".join(f"'{language}'" for language in STEMMERS)
    # Every word must match (AND); a word matches its stem in any configuration tried, or (three
    # letters and more) the start of a whole word. A stop word of a tried language is left out.
    op.execute(
        f"""
CREATE FUNCTION repository_query(words text[], languages text[]) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  configs regconfig[];
  result tsquery;
  alternatives tsquery;
  part tsquery;
  word text;
  cfg regconfig;
  stop boolean;
  seen text[];
BEGIN
  IF languages IS NULL OR cardinality(languages) = 0 THEN
    languages := ARRAY[{all_languages}];
  END IF;
  SELECT array_agg(DISTINCT repository_ts_config(l)) || 'imi_simple'::regconfig INTO configs
    FROM unnest(languages) AS l;
  FOREACH word IN ARRAY coalesce(words, ARRAY[]::text[]) LOOP
    alternatives := NULL;
    stop := false;
    seen := ARRAY[]::text[];
    FOREACH cfg IN ARRAY configs LOOP
      part := plainto_tsquery(cfg, word);
      IF numnode(part) = 0 THEN
        stop := stop OR cfg <> 'imi_simple'::regconfig;
        CONTINUE;
      END IF;
      CONTINUE WHEN part::text = ANY(seen);
      seen := seen || part::text;
      alternatives := CASE WHEN alternatives IS NULL THEN part ELSE alternatives || part END;
    END LOOP;
    CONTINUE WHEN stop OR alternatives IS NULL;
    IF char_length(word) >= 3 AND word ~ '^[[:alnum:]]+$' THEN
      part := to_tsquery('imi_simple'::regconfig, word || ':*');
      IF numnode(part) > 0 THEN
        alternatives := alternatives || part;
      END IF;
    END IF;
    result := CASE WHEN result IS NULL THEN alternatives ELSE result && alternatives END;
  END LOOP;
  RETURN result;
END
$$"""
    )


def upgrade() -> None:
    _configurations()
    op.create_table(
        "repository_definitions",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("definition", postgresql.JSONB(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("loaded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_repository_definitions")),
    )
    op.create_table(
        "directory_authorities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("coordinating", sa.Boolean(), nullable=False),
        sa.Column("areas", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_authorities")),
    )
    op.create_table(
        "directory_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_users")),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("repository", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("sort_key", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("status IN ('active', 'retired')", name=op.f("ck_records_status")),
        sa.ForeignKeyConstraint(
            ["repository"],
            ["repository_definitions.key"],
            name=op.f("fk_records_repository_repository_definitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
    )
    op.create_index("ix_records_browse", "records", ["repository", "status", "sort_key", "id"])
    op.create_index("ix_records_document", "records", ["document"], postgresql_using="gin")
    op.create_index(
        "ix_records_fields",
        "records",
        ["fields"],
        postgresql_using="gin",
        postgresql_ops={"fields": "jsonb_path_ops"},
    )
    op.create_table(
        "record_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_username", sa.Text(), nullable=True),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_record_history_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_history")),
    )
    op.create_index("ix_record_history_record", "record_history", ["record_id", "id"])
    op.create_table(
        "personal_data_reads",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("repository", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("fields", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("read_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_reads")),
    )
    op.create_index(
        "ix_personal_data_reads_record", "personal_data_reads", ["record_id", "read_at"]
    )


def downgrade() -> None:
    op.drop_table("personal_data_reads")
    op.drop_table("record_history")
    op.drop_table("records")
    op.drop_table("directory_users")
    op.drop_table("directory_authorities")
    op.drop_table("repository_definitions")
    op.execute("DROP FUNCTION repository_query(text[], text[])")
    op.execute("DROP FUNCTION repository_tsvector(jsonb, jsonb)")
    op.execute("DROP FUNCTION repository_ts_config(text)")
    for language in STEMMERS:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION imi_{language}")
    op.execute("DROP TEXT SEARCH CONFIGURATION imi_simple")
