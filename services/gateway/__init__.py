"""The IMI gateway service."""
