"""the words of the records' documents, so a word typed whole is not searched as a prefix scan

Revision ID: repository_0004
Revises: repository_0003
Create Date: 2026-12-03

A prefix (``'word':*``) makes the text index collect every matching entry into a bitmap before
anything else is combined, several times slower than exact entries over a large repository.
``record_words`` holds every lexeme a record's document has held (kept by statement triggers on
``records``; never shrunk, so it is a superset); ``repository_query`` looks a word's prefix up
there and, when few lexemes start with it, asks for those exactly. The matches are the same: a
prefix matched any lexeme of a document, and every such lexeme is in ``record_words``.

Asked for one by one, rare words are each estimated as rare only if the statistics of
``document`` list them; with the default 1,000 most common lexemes a handful of rare words
looked common enough together for a sequential scan (300 ms instead of 2 over a million
records), so the column's statistics keep 10,000.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "repository_0004"
down_revision: str | None = "repository_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Up to this many lexemes a prefix is asked for word by word; beyond, as a prefix.
EXPANSION_LIMIT = 32
_ALL_LANGUAGES = (
    "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv is no".split()
)


def _query_function(expand: bool) -> str:
    """``repository_query``: every word must match (AND); a word matches its stem in any
    configuration tried, or (three letters and more) the start of a whole word. A stop word of
    a tried language is left out. With ``expand`` the start of a word is looked up in
    ``record_words`` first."""
    all_languages = ", ".join(f"'{language}'" for language in _ALL_LANGUAGES)
    if expand:
        prefix = f"""
      lexeme := (tsvector_to_array(to_tsvector('imi_simple'::regconfig, word)))[1];
      part := NULL;
      IF lexeme IS NOT NULL THEN
        SELECT count(*), string_agg(q, ' | ') FILTER (WHERE q <> ALL(seen))
          INTO found, listed
          FROM (SELECT '''' || replace(replace(r.word, '\\', '\\\\'), '''', '''''') || ''''
                       AS q
                FROM record_words AS r
                WHERE r.word >= lexeme AND r.word < lexeme || chr(1114111)
                ORDER BY r.word LIMIT {EXPANSION_LIMIT + 1}) AS s;
        IF listed IS NULL THEN
          part := NULL;  -- no document holds another word starting so
        ELSIF found <= {EXPANSION_LIMIT} THEN
          part := listed::tsquery;
        ELSE
          part := to_tsquery('imi_simple'::regconfig, word || ':*');
        END IF;
      END IF"""
        volatility = "STABLE"
        declare = "  lexeme text;\n  found bigint;\n  listed text;\n"
    else:
        prefix = """
      part := to_tsquery('imi_simple'::regconfig, word || ':*')"""
        volatility = "IMMUTABLE"
        declare = ""
    return f"""
CREATE OR REPLACE FUNCTION repository_query(words text[], languages text[]) RETURNS tsquery
LANGUAGE plpgsql {volatility} PARALLEL SAFE AS $$
DECLARE
  configs regconfig[];
  result tsquery;
  alternatives tsquery;
  part tsquery;
  word text;
  cfg regconfig;
  stop boolean;
  seen text[];
{declare}BEGIN
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
    IF char_length(word) >= 3 AND word ~ '^[[:alnum:]]+$' THEN{prefix};
      IF part IS NOT NULL AND numnode(part) > 0 THEN
        alternatives := alternatives || part;
      END IF;
    END IF;
    result := CASE WHEN result IS NULL THEN alternatives ELSE result && alternatives END;
  END LOOP;
  RETURN result;
END
$$"""


def upgrade() -> None:
    op.execute('CREATE TABLE record_words (word text COLLATE "C" PRIMARY KEY)')
    op.execute(
        """
CREATE FUNCTION record_words_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO record_words (word)
    SELECT DISTINCT unnest(tsvector_to_array(document)) FROM changed_records
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$"""
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER records_words_{event.lower()} AFTER {event} ON records "
            "REFERENCING NEW TABLE AS changed_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION record_words_keep()"
        )
    op.execute(
        "INSERT INTO record_words (word) SELECT DISTINCT unnest(tsvector_to_array(document)) "
        "FROM records ON CONFLICT DO NOTHING"
    )
    op.execute(_query_function(expand=True))
    op.execute("ALTER TABLE records ALTER COLUMN document SET STATISTICS 1000")


def downgrade() -> None:
    op.execute("ALTER TABLE records ALTER COLUMN document SET STATISTICS -1")
    op.execute(_query_function(expand=False))
    op.execute("DROP TRIGGER records_words_update ON records")
    op.execute("DROP TRIGGER records_words_insert ON records")
    op.execute("DROP FUNCTION record_words_keep()")
    op.execute("DROP TABLE record_words")
