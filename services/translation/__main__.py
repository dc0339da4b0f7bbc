"""`python -m services.translation` runs the translation service."""

from services.translation.app import create_app
from services.translation.settings import TranslationSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, TranslationSettings())
