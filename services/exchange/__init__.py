"""The IMI information requests service."""
