"""The IMI network's own kit: what every service needs once."""
