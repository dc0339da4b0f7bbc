"""The IMI directory of competent authorities service."""
