"""The integrators ' HTTP API (FastAPI): OAuth2 tokens and scoped reads of what the flows stored."""
