"""Exchange API keys encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The Fernet key is a file, mode 600, made on first use - never an argument or an environment
value. Decrypted keys exist only inside an import; nothing logs or returns them.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from settings.errors import ConfigError
from settings.private_files import read_or_create_private

KEY_FIELDS = ("apiKey", "secret", "password", "uid")


def load_or_create_fernet(path: Path) -> Fernet:
    """The Fernet of ``path``; the file is created (O_EXCL, mode 600) when missing."""
    raw = read_or_create_private(path, lambda: Fernet.generate_key() + b"\n", "the wallet key file (WALLET_KEY_FILE)")
    try:
        return Fernet(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{path} (WALLET_KEY_FILE): not a Fernet key: {exc}") from None


def encrypt_credentials(fernet: Fernet, credentials: dict[str, str]) -> bytes:
    """ccxt credentials (apiKey, secret, optional password / uid) -> ciphertext."""
    unknown = set(credentials) - set(KEY_FIELDS)
    if unknown or not credentials.get("apiKey") or not credentials.get("secret"):
        raise ValueError(f"credentials need apiKey and secret (optional password, uid); got fields {sorted(credentials)}")
    return fernet.encrypt(json.dumps(credentials).encode())


def decrypt_credentials(fernet: Fernet, token: bytes) -> dict[str, str]:
    """Ciphertext -> ccxt credentials; a key that cannot decrypt raises ``ConfigError``."""
    try:
        return dict(json.loads(fernet.decrypt(token)))
    except InvalidToken:
        raise ConfigError("the stored API key cannot be decrypted with WALLET_KEY_FILE (another key file?)") from None
