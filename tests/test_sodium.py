"""libsodium's Ed25519 without PyNaCl's allocations: the same signatures and verdicts as OpenSSL's, from any thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_sign_seed_keypair

from yuantou.ledger.sodium import signature, verifies


def openssl_verifies(sig: bytes, text: bytes, public: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, text)
    except InvalidSignature:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), text=st.binary(max_size=3000), flip=st.integers(0, 10**6),
       which=st.sampled_from(["none", "signature", "text"]))
def test_signatures_and_verdicts_are_openssls(seed, text, flip, which):
    public, secret = crypto_sign_seed_keypair(seed)
    sig = signature(text, secret)
    assert sig == Ed25519PrivateKey.from_private_bytes(seed).sign(text)  # RFC 8032 is deterministic
    if which == "signature":
        sig = bytearray(sig)
        sig[flip % 64] ^= 1 << (flip % 8)
        sig = bytes(sig)
    elif which == "text":
        text = text + b"!" if not text else text[:flip % len(text)] + bytes([text[flip % len(text)] ^ 1]) + \
            text[flip % len(text) + 1:]
    assert verifies(sig, text, public) == openssl_verifies(sig, text, public) == (which == "none")


def test_wrong_lengths_are_refused_before_libsodium_reads_them():
    public, secret = crypto_sign_seed_keypair(bytes(32))
    sig = signature(b"x", secret)
    assert verifies(sig, b"x", public)
    assert not verifies(sig[:63], b"x", public) and not verifies(sig + b"\0", b"x", public)
    assert not verifies(sig, b"x", public[:31]) and not verifies(sig, b"x", public + b"\0")
    with pytest.raises(ValueError, match="64 bytes, not 32"):
        signature(b"x", secret[:32])


def test_threads_keep_their_own_buffers():
    """The buffers are per thread: texts of every length signed and checked side by side stay each their own."""
    public, secret = crypto_sign_seed_keypair(bytes(range(32)))
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))

    def work(n: int) -> bool:
        text = bytes([n % 256]) * (n * 37 % 5000)
        sig = signature(text, secret)
        return sig == key.sign(text) and verifies(sig, text, public) and not verifies(sig, text + b".", public)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(2000)))
