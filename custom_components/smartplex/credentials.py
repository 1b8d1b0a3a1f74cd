"""Encryption at rest of every secret SmartPlex keeps (Plex token, service API keys).

Config entries live as plaintext JSON in `.storage/core.config_entries`; SmartPlex stores
there only AES-256-GCM ciphertexts. The key lives in its own private Store file
(`.storage/smartplex.credentials_key`), created on first use. Each ciphertext is bound to
what it protects (associated data), so one cannot be swapped for another.
"""

import asyncio
import base64
import binascii
from dataclasses import dataclass
import hashlib
import os
from typing import TypedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER

STORAGE_KEY = f"{DOMAIN}.credentials_key"
STORAGE_VERSION = 1
FORMAT = "v1"
NONCE_BYTES = 12

DATA_VAULT: HassKey[CredentialVault] = HassKey(f"{DOMAIN}_vault")
DATA_VAULT_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_vault_lock")


class StoredKey(TypedDict):
    """What the key file holds."""

    key: str


class CredentialError(Exception):
    """A stored secret cannot be decrypted (key lost or replaced, or data tampered)."""


def _key_id(key: bytes) -> str:
    """Return a short, non-secret fingerprint of a key."""
    return hashlib.sha256(key).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class CredentialVault:
    """Encrypt and decrypt secrets with SmartPlex's key."""

    key: bytes

    @property
    def key_id(self) -> str:
        """Fingerprint of the key, stored with each ciphertext."""
        return _key_id(self.key)

    def encrypt(self, secret: str, purpose: str) -> str:
        """Return the stored form of a secret, bound to its purpose."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, secret.encode(), purpose.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{FORMAT}:{self.key_id}:{blob}"

    def decrypt(self, stored: str, purpose: str) -> str:
        """Return the secret from its stored form, or raise CredentialError."""
        try:
            version, key_id, blob = stored.split(":")
        except (AttributeError, ValueError) as err:
            raise CredentialError("not a SmartPlex ciphertext") from err
        if version != FORMAT:
            raise CredentialError(f"unknown format {version!r}")
        if key_id != self.key_id:
            raise CredentialError("encrypted with another key")
        try:
            raw = base64.urlsafe_b64decode(blob)
            plain = AESGCM(self.key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode()
            )
        except (binascii.Error, InvalidTag, ValueError) as err:
            raise CredentialError("ciphertext does not verify") from err
        return plain.decode()

    def try_decrypt(self, stored: str, purpose: str) -> str | None:
        """Return the secret, or None when it cannot be decrypted."""
        try:
            return self.decrypt(stored, purpose)
        except CredentialError:
            return None


async def async_get_vault(hass: HomeAssistant) -> CredentialVault:
    """Return the vault, loading the key or creating it on first use."""
    if (vault := hass.data.get(DATA_VAULT)) is not None:
        return vault
    lock = hass.data.setdefault(DATA_VAULT_LOCK, asyncio.Lock())
    async with lock:
        if (vault := hass.data.get(DATA_VAULT)) is not None:
            return vault
        store: Store[StoredKey] = Store(
            hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
        )
        stored = await store.async_load()
        key = _decode_key(stored)
        if key is None:
            LOGGER.info("Creating a new SmartPlex credential key")
            key = AESGCM.generate_key(bit_length=256)
            await store.async_save({"key": base64.b64encode(key).decode()})
        vault = hass.data[DATA_VAULT] = CredentialVault(key)
        return vault


def _decode_key(stored: StoredKey | None) -> bytes | None:
    """Return the key from the key file, or None when it is missing or unusable."""
    if not stored:
        return None
    try:
        key = base64.b64decode(stored["key"], validate=True)
    except KeyError, TypeError, binascii.Error:
        LOGGER.warning(
            "The SmartPlex credential key file is unreadable; making a new key"
        )
        return None
    if len(key) != 32:
        LOGGER.warning(
            "The SmartPlex credential key has a bad length; making a new key"
        )
        return None
    return key
