"""The IMI catalogue and translation service."""
