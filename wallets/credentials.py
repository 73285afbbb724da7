"""Exchange API keys encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``).

The Fernet key is a file, mode 600, made on first use - never an argument or an environment
value. Decrypted keys exist only inside an import; nothing logs or returns them.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from settings.errors import ConfigError

KEY_FIELDS = ("apiKey", "secret", "password", "uid")


def load_or_create_fernet(path: Path) -> Fernet:
    """The Fernet of ``path``; the file is created (O_EXCL, mode 600) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key() + b"\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path} (WALLET_KEY_FILE): the wallet key file is readable by others (mode {mode:o}); chmod 600 it")
    try:
        return Fernet(path.read_bytes().strip())
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
