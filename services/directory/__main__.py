"""`python -m services.directory` runs the directory service."""

from services.directory.app import create_app
from services.directory.settings import DirectorySettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, DirectorySettings())
