"""the words of the records' documents, so a word typed whole is not searched as a prefix scan

Revision ID: repository_0004
Revises: repository_0003
Create Date: 2026-12-03

A prefix (``'word':*``) makes the text index collect every matching entry into a bitmap before
anything else is combined, several times slower than exact entries over a large repository.
``record_words`` holds every lexeme a record's document has held (kept by statement triggers on
``records``; never shrunk, so it is a superset); ``repository_word_start`` looks a word's start
up there and, when few lexemes begin so, asks for those exactly. ``repository_query`` (of
repository_0002) calls it where it built the prefix. The matches are the same: a prefix matched
any lexeme of a document, and every such lexeme is in ``record_words``.

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

# Up to this many lexemes a word's start is asked for lexeme by lexeme; beyond, as a prefix.
EXPANSION_LIMIT = 32
QUERY_FUNCTION = "repository_query(text[], text[])"
PREFIX = "to_tsquery('imi_simple'::regconfig, word || ':*')"
LOOKED_UP = "repository_word_start(word, seen)"


def _swap_in_query_function(old: str, new: str, volatility: str) -> None:
    """Rewrite one expression of ``repository_query`` in place (its definition as the database
    holds it), so this revision does not restate the whole function."""
    op.execute(
        f"""
DO $migration$
DECLARE
  definition text := pg_get_functiondef('{QUERY_FUNCTION}'::regprocedure);
BEGIN
  IF position($old${old}$old$ IN definition) = 0 THEN
    RAISE EXCEPTION 'repository_query does not hold %', $old${old}$old$;
  END IF;
  EXECUTE replace(definition, $old${old}$old$, $new${new}$new$);
END
$migration$"""
    )
    op.execute(f"ALTER FUNCTION {QUERY_FUNCTION} {volatility}")


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
    # The lexemes that start as the word does, each asked for exactly (but those ``known``
    # already); the prefix itself when more than EXPANSION_LIMIT do; NULL when none does.
    op.execute(
        f"""
CREATE FUNCTION repository_word_start(word text, known text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  lexeme text := (tsvector_to_array(to_tsvector('imi_simple'::regconfig, word)))[1];
  found bigint;
  listed text;
BEGIN
  IF lexeme IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT count(*), string_agg(q, ' | ') FILTER (WHERE q <> ALL(known))
    INTO found, listed
    FROM (SELECT '''' || replace(replace(r.word, '\\', '\\\\'), '''', '''''') || '''' AS q
          FROM record_words AS r
          WHERE r.word >= lexeme AND r.word < lexeme || chr(1114111)
          ORDER BY r.word LIMIT {EXPANSION_LIMIT + 1}) AS s;
  IF found > {EXPANSION_LIMIT} THEN
    RETURN {PREFIX};
  END IF;
  RETURN listed::tsquery;
END
$$"""
    )
    _swap_in_query_function(PREFIX, LOOKED_UP, "STABLE")
    op.execute("ALTER TABLE records ALTER COLUMN document SET STATISTICS 1000")


def downgrade() -> None:
    op.execute("ALTER TABLE records ALTER COLUMN document SET STATISTICS -1")
    _swap_in_query_function(LOOKED_UP, PREFIX, "IMMUTABLE")
    op.execute("DROP FUNCTION repository_word_start(text, text[])")
    op.execute("DROP TRIGGER records_words_update ON records")
    op.execute("DROP TRIGGER records_words_insert ON records")
    op.execute("DROP FUNCTION record_words_keep()")
    op.execute("DROP TABLE record_words")
