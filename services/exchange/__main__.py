"""`python -m services.exchange` runs the exchange service."""

from services.exchange.app import create_app
from services.exchange.settings import ExchangeSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(create_app, ExchangeSettings())
