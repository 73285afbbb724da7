"""Traders' wallets: ledger replay with FIFO P&L, valuation at live prices (pure, no I/O)."""
