"""Language detection of free text with langdetect, seeded: the same text, the same answer."""

from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, LangDetectException, detect_langs

from shared.languages import language_tag

DetectorFactory.seed = 0

# Below this probability the writer's language is not guessed.
MIN_PROBABILITY = 0.5


@dataclass(frozen=True)
class Candidate:
    language: str
    probability: float


def candidates(text: str) -> list[Candidate]:
    """Our languages that langdetect sees in ``text``, most probable first."""
    try:
        found = detect_langs(text)
    except LangDetectException:
        return []
    result: list[Candidate] = []
    for guess in found:
        language = language_tag(str(guess.lang))
        if language is not None:
            result.append(Candidate(language, round(float(guess.prob), 4)))
    return result


def detect_language(text: str) -> str | None:
    """The language of ``text`` when langdetect is reasonably sure, else None."""
    found = candidates(text)
    if found and found[0].probability >= MIN_PROBABILITY:
        return found[0].language
    return None
