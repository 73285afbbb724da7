"""Crypto collectors: ccxt (REST polling and ccxt.pro websockets) or the simulated market -> Quotes."""
