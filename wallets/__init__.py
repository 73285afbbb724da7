"""Traders' wallets: the transactional store (SQLite WAL by default), imports, encrypted API keys (docs/wallets.md)."""
