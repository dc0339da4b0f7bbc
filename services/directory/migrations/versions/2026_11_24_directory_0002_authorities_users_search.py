"""authorities, users, history, catalogue projection, search document and text search

Revision ID: directory_0002
Revises: directory_0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "directory_0002"
down_revision: str | None = "directory_0001"
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
CREATE FUNCTION directory_ts_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE language
{cases}
    ELSE 'imi_simple'::regconfig
  END
$$"""
    )
    # Every text of a {language: text} map (plus one more text, e.g. the official name) in its
    # own language's configuration (stems) and in imi_simple (whole words, for prefixes and for
    # readers who type a word as written), without positions: search needs lexemes, not ranks.
    op.execute(
        """
CREATE FUNCTION directory_tsvector(texts jsonb, one_more text, one_more_language text)
RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  doc tsvector := ''::tsvector;
  entry record;
BEGIN
  IF one_more IS NOT NULL THEN
    doc := to_tsvector(directory_ts_config(one_more_language), one_more)
        || to_tsvector('imi_simple'::regconfig, one_more);
  END IF;
  FOR entry IN SELECT key, value FROM jsonb_each_text(coalesce(texts, '{}'::jsonb)) LOOP
    doc := doc || to_tsvector(directory_ts_config(entry.key), entry.value)
               || to_tsvector('imi_simple'::regconfig, entry.value);
  END LOOP;
  RETURN strip(doc);
END
$$"""
    )
    all_languages = ", ".join(f"'{language}'" for language in STEMMERS)
    # Every word must match (AND); a word matches its stem in any configuration tried, or (three
    # letters and more) the start of a whole word. A stop word of a tried language is left out.
    op.execute(
        f"""
CREATE FUNCTION directory_query(words text[], languages text[]) RETURNS tsquery
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
  SELECT array_agg(DISTINCT directory_ts_config(l)) INTO configs FROM unnest(languages) AS l;
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


def _search_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("coordinating", sa.Boolean(), nullable=False),
        sa.Column("covered_regions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("areas", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("procedures", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("keywords", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("breadth", sa.Integer(), nullable=False),
        sa.Column("sort_name", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    _configurations()
    op.create_table(
        "authorities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("official_name", sa.Text(), nullable=False),
        sa.Column("name_language", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column(
            "informal_titles",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "descriptions",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "languages",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("address", postgresql.JSONB(), nullable=True),
        sa.Column(
            "competences", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("coordinating", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('registered', 'validated', 'active', 'deactivated')",
            name=op.f("ck_authorities_status"),
        ),
        sa.CheckConstraint(
            "level IN ('national', 'regional', 'local')", name=op.f("ck_authorities_level")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorities")),
    )
    op.create_index(
        "uq_authorities_country_name",
        "authorities",
        ["country", "name_key"],
        unique=True,
        postgresql_where=sa.text("status <> 'deactivated'"),
    )
    op.create_index(
        "uq_authorities_coordinating",
        "authorities",
        ["country"],
        unique=True,
        postgresql_where=sa.text("coordinating AND status <> 'deactivated'"),
    )
    # The search rows: filters, competence keys and the rank order (narrow, walked in rank order
    # by the competence classes of a search) ...
    op.create_table(
        "authority_search",
        *_search_columns(),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_authority_search_authority_id_authorities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("authority_id", name=op.f("pk_authority_search")),
    )
    for column in ("keywords", "procedures", "areas"):
        op.create_index(
            f"ix_authority_search_{column}", "authority_search", [column], postgresql_using="gin"
        )
    op.create_index(
        "ix_authority_search_browse",
        "authority_search",
        ["status", "country", "sort_name", "authority_id"],
    )
    op.create_index(
        "ix_authority_search_browse_all",
        "authority_search",
        ["status", "sort_name", "authority_id"],
    )
    op.create_index(
        "ix_authority_search_rank",
        "authority_search",
        ["status", "country", "breadth", "sort_name", "authority_id"],
    )
    op.create_index(
        "ix_authority_search_rank_all",
        "authority_search",
        ["status", "breadth", "sort_name", "authority_id"],
    )
    # ... and the same rows with the words of names, titles and descriptions, reached only
    # through their GIN indexes (no rank index here: a text class never walks rank order).
    op.create_table(
        "authority_text",
        *_search_columns(),
        sa.Column("names", postgresql.TSVECTOR(), nullable=False),
        sa.Column("descriptions", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_authority_text_authority_id_authorities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("authority_id", name=op.f("pk_authority_text")),
    )
    for column in ("names", "descriptions", "keywords"):
        op.create_index(
            f"ix_authority_text_{column}", "authority_text", [column], postgresql_using="gin"
        )
    op.create_table(
        "authority_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_username", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_authority_history_authority_id_authorities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authority_history")),
    )
    op.create_index("ix_authority_history_authority", "authority_history", ["authority_id", "id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column(
            "roles", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_users_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index("ix_users_authority", "users", ["authority_id", "username"])
    op.create_table(
        "user_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_username", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_history_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_history")),
    )
    op.create_index("ix_user_history_user", "user_history", ["user_id", "id"])
    op.create_table(
        "catalogue_versions",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("area_names", postgresql.JSONB(), nullable=False),
        sa.Column("procedure_names", postgresql.JSONB(), nullable=False),
        sa.Column("procedure_areas", postgresql.JSONB(), nullable=False),
        sa.Column("keywords", postgresql.JSONB(), nullable=False),
        sa.Column("keyword_areas", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalogue_versions")),
    )
    op.create_table(
        "idempotent_requests",
        sa.Column("caller_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("caller_id", "key", name=op.f("pk_idempotent_requests")),
    )


def downgrade() -> None:
    op.drop_table("idempotent_requests")
    op.drop_table("catalogue_versions")
    op.drop_index("ix_user_history_user", table_name="user_history")
    op.drop_table("user_history")
    op.drop_index("ix_users_authority", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_authority_history_authority", table_name="authority_history")
    op.drop_table("authority_history")
    op.drop_table("authority_text")
    op.drop_table("authority_search")
    op.drop_index("uq_authorities_coordinating", table_name="authorities")
    op.drop_index("uq_authorities_country_name", table_name="authorities")
    op.drop_table("authorities")
    op.execute("DROP FUNCTION directory_query(text[], text[])")
    op.execute("DROP FUNCTION directory_tsvector(jsonb, text, text)")
    op.execute("DROP FUNCTION directory_ts_config(text)")
    for language in STEMMERS:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION imi_{language}")
    op.execute("DROP TEXT SEARCH CONFIGURATION imi_simple")
