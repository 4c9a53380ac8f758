"""BECKN-006 signing: the RFC's worked example byte for byte, and the refusal cases."""

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.protocol.keys import KeyError_, KeyPair, load_signing_private, load_signing_public
from yuantou.protocol.signing import (
    SignatureError,
    body_digest,
    check_times,
    parse_any_signature_header,
    parse_signature_header,
    sign,
    signing_string,
    verify,
)

BAP_PRIVATE = "lP3sHA+9gileOkXYJXh4Jg8tK0gEEMbf9yCPnFpbldhrAY+NErqL9WD+Vav7TE5tyVXGXBle9ONZi2W7o144eQ=="
BAP_PUBLIC = "awGPjRK6i/Vg/lWr+0xObclVxlwZXvTjWYtlu6NeOHk="
BG_PRIVATE = "hJ5sCmbe7s9Wateq6QAdBGloVSkLuLHWOXcRkzrMcVLthFldV4gnT9Vrnq9iDNPVSKuDqaercVjQwFlj0Ml+3Q=="
BG_PUBLIC = "7YRZXVeIJ0/Va56vYgzT1Uirg6mnq3FY0MBZY9DJft0="


def rfc_example(beckn_dir):
    text = (beckn_dir / "docs/BECKN-006-Signing-Beckn-APIs-In-HTTP-Draft-01.md").read_text()
    body = re.search(r"Let the below be the request body in this example : \n\n```\n(.*?)\n```", text, re.S).group(1)
    header = re.search(r'```\n(Signature keyId="example-bap\.com.*?)\n```', text, re.S).group(1)
    return text, body.encode(), header


def test_rfc_digest_and_fox(beckn_dir):
    text, body, _ = rfc_example(beckn_dir)
    assert body_digest(body) == "b6lf6lRgOweajukcvcLsagQ2T60+85kRh/Rd2bdS+TG/5ALebOEgDJfyCrre/1+BMu5nA94o4DT3pTFXuUg7sw=="
    assert body_digest(b"The quick brown fox jumps over the lazy dog") in text


def test_rfc_authorization_header_byte_for_byte(beckn_dir):
    _, body, expected_header = rfc_example(beckn_dir)
    key = load_signing_private(BAP_PRIVATE)
    header = sign(body, key, "example-bap.com", "ae3ea24b-cfec-495e-81f8-044aaef164ac",
                  created=1641287875, expires=1641291475)
    assert header == expected_header
    parsed = parse_signature_header(header)
    verify(body, parsed, load_signing_public(BAP_PUBLIC))


def test_rfc_gateway_keys_pair_up():
    # the RFC's BG key pair is consistent (its printed BG "signature" is a copy of the private key, so not a vector)
    assert KeyPair(load_signing_private(BG_PRIVATE), None).signing_public_b64 == BG_PUBLIC  # type: ignore[arg-type]


def test_seed_and_libsodium_forms_are_the_same_key(tmp_path):
    full = base64.b64decode(BAP_PRIVATE)
    seed_key = load_signing_private(base64.b64encode(full[:32]).decode())
    sodium_key = load_signing_private(BAP_PRIVATE)
    raw_key = load_signing_private(full)
    sig = seed_key.sign(b"x")
    assert sig == sodium_key.sign(b"x") == raw_key.sign(b"x")
    with pytest.raises(KeyError_, match="32 \\(seed\\) or 64"):
        load_signing_private(base64.b64encode(b"a" * 40).decode())
    bad = full[:32] + bytes(32)
    with pytest.raises(KeyError_, match="second half is not its public key"):
        load_signing_private(base64.b64encode(bad).decode())


@pytest.mark.parametrize("header,reason", [
    (None, "missing"),
    ('Basic abc', "auth scheme"),
    ('Signature keyId="a|b|ed25519",algorithm="rsa",created="1",expires="2",headers="(created) (expires) digest",signature="x"', "differs"),
    ('Signature keyId="a|b|ed25519",algorithm="ed25519",created="1",expires="2",headers="digest",signature="x"', "headers must be"),
    ('Signature keyId="a|b|ed25519",algorithm="ed25519",created="x",expires="2",headers="(created) (expires) digest",signature="x"', "Unix"),
    ('Signature keyId="a",algorithm="ed25519",created="1",expires="2",headers="(created) (expires) digest",signature="x"', "keyId"),
])
def test_malformed_headers_are_refused(header, reason):
    with pytest.raises(SignatureError, match=reason):
        parse_signature_header(header)


def test_clock_rules_with_skew():
    header = parse_signature_header(sign(b"{}", load_signing_private(BAP_PRIVATE), "s", "k", created=1000, expires=1300))
    check_times(header, 1000, 0)
    check_times(header, 997, 5)  # created 3 s "in the future" is within skew
    with pytest.raises(SignatureError, match="future"):
        check_times(header, 990, 5)
    check_times(header, 1304, 5)
    with pytest.raises(SignatureError, match="expired"):
        check_times(header, 1306, 5)


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=400), flip=st.integers(min_value=0))
def test_any_changed_byte_breaks_the_signature(body, flip):
    key = load_signing_private(BAP_PRIVATE)
    header = parse_signature_header(sign(body, key, "s", "k", created=1, expires=2))
    verify(body, header, key.public_key())
    i = flip % len(body)
    tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
    with pytest.raises(SignatureError):
        verify(tampered, header, key.public_key())
    assert signing_string(1, 2, body_digest(body)).startswith("(created): 1\n(expires): 2\ndigest: BLAKE-512=")


def _parse(parser, header):  # noqa: ANN001, ANN202
    try:
        return parser(header)
    except SignatureError as e:
        return ("refused", str(e))


_ID_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=300)
@given(subscriber=_ID_TEXT, key=_ID_TEXT, created=st.integers(0, 2**40), expires=st.integers(0, 2**40),
       signature=st.text("AZaz09+/=\" ", max_size=20), cut=st.integers(0, 400), insert=st.text(max_size=3))
def test_the_rendered_form_parses_as_the_general_parse_does(subscriber, key, created, expires, signature, cut, insert):
    """A header as signers write it is read with one match (a chain check reads one an entry); that must give what
    the general parse gives, for any ids, and for the header with a few characters slipped in anywhere."""
    header = (f'Signature keyId="{subscriber}|{key}|ed25519",algorithm="ed25519",created="{created}",'
              f'expires="{expires}",headers="(created) (expires) digest",signature="{signature}"')
    for text in (header, header[:cut] + insert + header[cut:]):
        assert _parse(parse_signature_header, text) == _parse(parse_any_signature_header, text)
