"""Use cases: each takes a command and the ports it needs and returns what happened."""
