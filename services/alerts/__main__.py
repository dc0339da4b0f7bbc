"""`python -m services.alerts` runs the alerts service."""

from services.alerts.app import create_app
from services.alerts.settings import AlertsSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, AlertsSettings())
