"""`python -m services.repository` runs the repository service."""

from services.repository.app import create_app
from services.repository.settings import RepositorySettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, RepositorySettings())
