"""Crypto rules: per-symbol book, cross-exchange spread, extremes, arbitrage alerts, OHLC, fees.

Pure and deterministic (no wall clock, no I/O); Bytewax flows call them from ``stateful_map`` and
``fold_window``. See ``docs/crypto.md``.
"""
