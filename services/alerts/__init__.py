"""The IMI alerts and notifications service."""
