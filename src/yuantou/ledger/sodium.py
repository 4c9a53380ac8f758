"""libsodium's Ed25519, called without PyNaCl's per-call allocations.

PyNaCl's ``crypto_sign_open`` and ``crypto_sign`` allocate and zero two buffers and copy the
result out on every call: 8 µs of a 73 µs verification here, 3 µs of a 33 µs signing, and a
chain check makes one of each per entry. These call the same libsodium functions (so the
verdict is libsodium's, RFC 8032 with its checks on the encodings) into buffers kept per thread.
"""

from __future__ import annotations

import threading

from nacl._sodium import ffi, lib

SIGNATURE_BYTES, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES = 64, 32, 64

_local = threading.local()


def _buffers(size: int):  # noqa: ANN202
    """This thread's output buffer (at least ``size`` bytes) and length cell."""
    held = getattr(_local, "held", None)
    if held is None or len(held[0]) < size:
        held = _local.held = (ffi.new("unsigned char[]", max(size, 1024)), ffi.new("unsigned long long *"))
    return held


def verifies(signature: bytes, text: bytes, public_key: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s Ed25519 signature of ``text``."""
    if len(signature) != SIGNATURE_BYTES or len(public_key) != PUBLIC_KEY_BYTES:
        return False  # libsodium reads exactly these lengths: anything else must not reach it
    signed = signature + text
    out, length = _buffers(len(signed))
    return lib.crypto_sign_open(out, length, signed, len(signed), public_key) == 0


def signature(text: bytes, secret_key: bytes) -> bytes:
    """The (deterministic) Ed25519 signature of ``text`` by a libsodium secret key (seed ‖ public key)."""
    if len(secret_key) != SECRET_KEY_BYTES:
        raise ValueError(f"a libsodium secret key is {SECRET_KEY_BYTES} bytes, not {len(secret_key)}")
    out, length = _buffers(len(text) + SIGNATURE_BYTES)
    if lib.crypto_sign(out, length, text, len(text), secret_key) != 0:
        raise RuntimeError("libsodium could not sign")
    return ffi.buffer(out, SIGNATURE_BYTES)[:]
