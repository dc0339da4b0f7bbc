"""`python -m services.gateway` runs the gateway service."""

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, GatewaySettings())
