"""The registry's subscription challenge, as ONDC registries do it.

The registry derives a shared secret by X25519 between its encryption key and the
subscriber's, encrypts a random challenge with AES-256-ECB (PKCS#7) under it and
sends it to the subscriber's ``/on_subscribe``; only the key's owner can answer.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _cipher(own: X25519PrivateKey, peer: X25519PublicKey) -> Cipher:
    return Cipher(algorithms.AES(own.exchange(peer)), modes.ECB())


def new_challenge() -> str:
    return secrets.token_urlsafe(24)


def encrypt(plain: str, own: X25519PrivateKey, peer: X25519PublicKey) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    enc = _cipher(own, peer).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def decrypt(cipher_b64: str, own: X25519PrivateKey, peer: X25519PublicKey) -> str:
    dec = _cipher(own, peer).decryptor()
    data = dec.update(base64.b64decode(cipher_b64)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(data) + unpadder.finalize()).decode()
