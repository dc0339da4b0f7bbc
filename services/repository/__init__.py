"""The IMI information repositories service."""
