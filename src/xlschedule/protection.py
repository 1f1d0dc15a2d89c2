"""Password hashes as modern Excel stores them (ECMA-376 agile: SHA-512, random salt, 100000 spins).

openpyxl's own `password=` setter writes the legacy 16-bit hash, which collides within a second of search.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

ALGORITHM = "SHA-512"
SPIN_COUNT = 100_000
SALT_BYTES = 16


@dataclass(frozen=True)
class PasswordHash:
    algorithm: str
    hash_value: str  # base64
    salt_value: str  # base64
    spin_count: int


def hash_password(password: str, salt: bytes | None = None, spin_count: int = SPIN_COUNT) -> PasswordHash:
    """H0 = SHA512(salt + UTF-16LE password); Hn = SHA512(Hn-1 + n as 4-byte little-endian)."""
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for i in range(spin_count):
        digest = hashlib.sha512(digest + i.to_bytes(4, "little")).digest()
    return PasswordHash(
        algorithm=ALGORITHM,
        hash_value=base64.b64encode(digest).decode("ascii"),
        salt_value=base64.b64encode(salt).decode("ascii"),
        spin_count=spin_count,
    )


def verify_password(password: str, stored: PasswordHash) -> bool:
    salt = base64.b64decode(stored.salt_value)
    return hash_password(password, salt, stored.spin_count).hash_value == stored.hash_value
