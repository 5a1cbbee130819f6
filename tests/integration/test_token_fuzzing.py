"""Token fuzzing (issue 12, part 4): mutated bearer tokens against every protected route.

Hypothesis draws tokens that are wrong in one way each — flipped bits and bytes,
cut or lengthened segments, dots, base64 padding, algorithm confusion, ``kid``
injection, huge tokens, odd characters, and correctly signed tokens whose claims
break a rule — and every token is sent to every protected operation, as the app
itself lists them (all routes but the public ones and the calendar feed, whose
credential is in its URL, every method). Each answer must be 401 ``application/problem+json`` with
``WWW-Authenticate: Bearer``, and nothing may be logged as a failure of the server
(a line at ``error``/``critical``, or ``request.unhandled_error``).

None of the tokens is valid: where a mutation could give back an equivalent of
the valid token (a correctly padded signature, whitespace around it), the case is
left out explicitly. The profile is fixed (derandomized, bounded): every run makes
the same mutations, of freshly signed tokens; ``docs/reliability.md`` has the figures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import string
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jwt.utils import der_to_raw_signature
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.api.openapi import PUBLIC_PREFIXES, TOKEN_IN_PATH_PREFIXES
from pcem.identity.tokens import MAX_SUBJECT_LENGTH
from pcem.settings import Settings
from pcem.wiring import build_container
from tests.conftest import JWT_SECRET, settings_for
from tests.integration.api_helpers import FAILING
from tests.polling import wait_until

pytestmark = pytest.mark.slow

Client = TestClient[Any]
Signer = Callable[[bytes], bytes]

FUZZ = settings(
    derandomize=True,  # the same cases on every run and every machine
    database=None,  # nothing written to .hypothesis/
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=False,
)

# No bearer token there: the app's own lists, so a new public route is never fuzzed.
WITHOUT_BEARER = PUBLIC_PREFIXES + TOKEN_IN_PATH_PREFIXES
STREAMS = {"/api/v1/notifications/stream"}
ALPHABET = string.ascii_letters + string.digits + "-_"  # base64url
ISSUER, AUDIENCE = "https://id.example", "pcem"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())
JWKS_KIDS = {"rsa-1": "RS256", "ec-1": "ES256"}


# The routes, from the app itself


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # path parameters filled in with values of their type
    template: str


PATH_VALUES: dict[type, Callable[[], str]] = {
    uuid.UUID: lambda: str(uuid.uuid4()),
    int: lambda: "1",
    str: lambda: "people",
}


def protected_operations(app: Litestar) -> list[Operation]:
    """Every method of every route that needs a token, Litestar's own ``OPTIONS`` too."""
    operations = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(WITHOUT_BEARER):
            continue
        path = route.path_format
        for name, parameter in route.path_parameters.items():
            path = path.replace("{" + name + "}", PATH_VALUES[parameter.type]())
        for method in sorted(route.methods):
            operations.append(Operation(method, path, route.path))
    return operations


# Building tokens by hand: any header, any payload, any signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def as_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()  # NaN and surrogates allowed


def compact(header: Any, payload: Any, sign: Signer) -> str:
    """A JWS compact serialization; ``payload`` as bytes is used as it is."""
    encoded = (
        b64(as_json(header))
        + "."
        + b64(payload if isinstance(payload, bytes) else as_json(payload))
    )
    return encoded + "." + b64(sign(encoded.encode()))


def hmac_signer(key: bytes, digest: str = "sha256") -> Signer:
    return lambda message: hmac.new(key, message, getattr(hashlib, digest)).digest()


def rsa_signer(key: rsa.RSAPrivateKey, pss: bool = False) -> Signer:
    scheme = (
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
        if pss
        else padding.PKCS1v15()
    )
    return lambda message: key.sign(message, scheme, hashes.SHA256())


def ec_signer(key: ec.EllipticCurvePrivateKey) -> Signer:
    return lambda message: der_to_raw_signature(
        key.sign(message, ec.ECDSA(hashes.SHA256())), key.curve
    )


SECRET = hmac_signer(JWT_SECRET.encode())
HS256 = {"alg": "HS256", "typ": "JWT"}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": f"fuzz-{uuid.uuid4()}", "exp": now + 600, "iat": now, **overrides}


def valid_hs256() -> str:
    return compact(HS256, claims(), SECRET)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def same_as(valid: str, candidate: str) -> bool:
    """Whether ``candidate`` is the valid token in another spelling the server rightly
    accepts: surrounded by spaces or tabs, or with the signature's ``=`` padding
    (PyJWT takes it, as some issuers such as AWS ALB send it)."""
    parts = candidate.strip(" \t").split(".")
    expected = valid.split(".")
    if len(parts) != 3 or parts[:2] != expected[:2]:
        return False
    signature = parts[2]
    unpadded = signature.rstrip("=")
    return unpadded == expected[2] and (signature == unpadded or len(signature) % 4 == 0)


# Mutations of a valid token


SEGMENTS = ["header", "payload", "signature"]


@st.composite
def flipped_bits(draw: st.DrawFn, token: str, segment: int) -> str:
    """Bits flipped in the decoded segment, which is then encoded again."""
    parts = token.split(".")
    raw = bytearray(unb64(parts[segment]))
    for bit in draw(
        st.lists(st.integers(0, len(raw) * 8 - 1), min_size=1, max_size=16, unique=True)
    ):
        raw[bit // 8] ^= 0x80 >> (bit % 8)
    parts[segment] = b64(bytes(raw))
    return ".".join(parts)


@st.composite
def flipped_characters(draw: st.DrawFn, token: str, segment: int) -> bytes:
    """Bits flipped in the characters of the encoded segment, as sent (any byte value)."""
    parts = [part.encode() for part in token.split(".")]
    chars = bytearray(parts[segment])
    positions = draw(st.lists(st.integers(0, len(chars) - 1), min_size=1, max_size=8, unique=True))
    for position in positions:
        chars[position] ^= 1 << draw(st.integers(0, 7))
    parts[segment] = bytes(chars)
    return b".".join(parts)


@st.composite
def replaced_characters(draw: st.DrawFn, token: str, segment: int) -> str:
    """Characters of the encoded segment replaced by other printable ASCII ones."""
    parts = token.split(".")
    chars = list(parts[segment])
    positions = draw(st.lists(st.integers(0, len(chars) - 1), min_size=1, max_size=8, unique=True))
    for position in positions:
        old = chars[position]
        chars[position] = draw(
            # mypy types a lambda's defaulted parameter as a required one
            st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c, o=old: c != o)  # type: ignore[arg-type]
        )
    parts[segment] = "".join(chars)
    return ".".join(parts)


@st.composite
def truncated_or_extended(draw: st.DrawFn, token: str) -> str:
    parts = token.split(".")
    how = draw(st.sampled_from(["cut the token", "cut a segment", "append", "prepend"]))
    if how == "cut the token":
        return token[: draw(st.integers(0, len(token) - 1))]
    segment = draw(st.integers(0, 2))
    if how == "cut a segment":
        parts[segment] = parts[segment][: draw(st.integers(0, len(parts[segment]) - 1))]
    else:
        extra = draw(st.text(ALPHABET, min_size=1, max_size=64))
        parts[segment] = parts[segment] + extra if how == "append" else extra + parts[segment]
    return ".".join(parts)


@st.composite
def dots_moved(draw: st.DrawFn, token: str) -> str:
    how = draw(st.sampled_from(["insert", "remove", "replace", "only dots", "empty segments"]))
    if how == "insert":
        chars = list(token)
        for position in sorted(
            draw(st.lists(st.integers(0, len(token)), min_size=1, max_size=4)), reverse=True
        ):
            chars.insert(position, ".")
        return "".join(chars)
    dots = [i for i, c in enumerate(token) if c == "."]
    if how in ("remove", "replace"):
        chosen = draw(st.lists(st.sampled_from(dots), min_size=1, max_size=2, unique=True))
        by = "" if how == "remove" else draw(st.sampled_from(list(ALPHABET + "=,;:")))
        return "".join(by if i in chosen else c for i, c in enumerate(token))
    if how == "only dots":
        return "." * draw(st.integers(1, 64))
    parts = token.split(".")
    emptied = draw(st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True))
    return ".".join("" if i in emptied else part for i, part in enumerate(parts))


@st.composite
def padding_games(draw: st.DrawFn, token: str) -> str:
    parts = token.split(".")
    how = draw(st.sampled_from(["pad", "pad inside", "standard alphabet", "percent-encoded"]))
    if how == "pad":
        for segment in draw(st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True)):
            parts[segment] += "=" * draw(st.integers(1, 4))
    elif how == "pad inside":
        segment = draw(st.integers(0, 2))
        at = draw(st.integers(0, len(parts[segment])))
        parts[segment] = parts[segment][:at] + "=" * draw(st.integers(1, 3)) + parts[segment][at:]
    elif how == "standard alphabet":  # base64 instead of base64url, padded or not
        segment = draw(st.integers(0, 2))
        standard = base64.b64encode(unb64(parts[segment])).decode()
        if draw(st.booleans()):
            standard = standard.rstrip("=")
        assume(standard != parts[segment])
        parts[segment] = standard
    else:
        segment = draw(st.integers(0, 2))
        parts[segment] += "%3D" * draw(st.integers(1, 2))
    mutated = ".".join(parts)
    assume(not same_as(token, mutated))
    return mutated


# JSON values of any type, for header fields that should be strings
ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.sampled_from(["HS256", "RS256", "none"]), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
ALGORITHM_NAMES = [
    "none",
    "None",
    "NONE",
    "nOnE",
    "",
    "HS256 ",
    " HS256",
    "hs256",
    "HS256\x00",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "ES256",
    "ES384",
    "ES512",
    "ES256K",
    "EdDSA",
    "dir",
    "A256GCM",
]
ALGORITHMS = st.one_of(st.sampled_from(ALGORITHM_NAMES), ANY_JSON)
OTHER_JWK = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_RSA_KEY.public_key()))
HEADER_EXTRAS = st.sampled_from(
    [
        {},
        {"typ": "JWT"},
        {"jwk": OTHER_JWK},  # the attacker's own key, embedded
        {"jku": "http://127.0.0.1:1/jwks.json"},
        {"x5u": "http://127.0.0.1:1/cert.pem"},
        {"b64": False, "crit": ["b64"]},
        {"crit": ["exp"]},
        {"crit": []},
        {"crit": "b64"},
        {"zip": "DEF"},
    ]
)


def pem_variants(key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    """What an attacker might use as an HMAC secret: the public key, spelt every way."""
    pem = public_pem(key)
    public = key.public_key()
    return {
        "pem": pem,
        "pem without the last newline": pem.rstrip(b"\n"),
        "pem with CRLF": pem.replace(b"\n", b"\r\n"),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pkcs1 pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "jwk": jwt.algorithms.RSAAlgorithm.to_jwk(public).encode(),
    }


PUBLIC_KEY_AS_SECRET = pem_variants(RSA_KEY)
HS_SERVER_SIGNERS: dict[str, Signer] = {
    "the secret (SHA-256)": SECRET,
    "the secret (SHA-384)": hmac_signer(JWT_SECRET.encode(), "sha384"),
    "the secret (SHA-512)": hmac_signer(JWT_SECRET.encode(), "sha512"),
    "an empty HMAC key": hmac_signer(b""),
    "another secret": hmac_signer(b"y" * 44),
    "an RSA key": rsa_signer(OTHER_RSA_KEY),
    "an EC key": ec_signer(OTHER_EC_KEY),
    "nothing": lambda _: b"",
}


@st.composite
def confused_on_hs256(draw: st.DrawFn) -> str:
    """For a server that takes HS256 with its secret."""
    header: dict[str, Any] = {**draw(HEADER_EXTRAS)}
    algorithm = draw(ALGORITHMS)
    if draw(st.integers(0, 9)):  # mostly present, sometimes missing
        header["alg"] = algorithm
    signer = draw(st.sampled_from(sorted(HS_SERVER_SIGNERS)))
    valid = header.get("alg") == "HS256" and signer == "the secret (SHA-256)"
    assume(not (valid and not header.get("crit") and "b64" not in header))
    return compact(header, claims(), HS_SERVER_SIGNERS[signer])


@st.composite
def confused_on_rs256(draw: st.DrawFn) -> str:
    """For a server that takes RS256 with its PEM public key: HS* signed with that key
    (the classic confusion), ``none``, and the real private key under other names."""
    valid_claims = claims(iss=ISSUER, aud=AUDIENCE)
    how = draw(st.sampled_from(["HS* with the public key", "other algorithm names", "none"]))
    if how == "HS* with the public key":
        key = PUBLIC_KEY_AS_SECRET[draw(st.sampled_from(sorted(PUBLIC_KEY_AS_SECRET)))]
        algorithm, digest = draw(
            st.sampled_from([("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")])
        )
        return compact({"alg": algorithm, "typ": "JWT"}, valid_claims, hmac_signer(key, digest))
    if how == "none":
        signature = draw(st.sampled_from([b"", b"\x00", rsa_signer(RSA_KEY)(b"x")]))
        algorithm = draw(st.sampled_from(["none", "None", "NONE"]))
        return compact({"alg": algorithm}, valid_claims, lambda _: signature)
    algorithm = draw(ALGORITHMS)
    signer = draw(
        st.sampled_from(
            [
                ("the key, PKCS#1 v1.5", rsa_signer(RSA_KEY)),
                ("the key, PSS", rsa_signer(RSA_KEY, pss=True)),
                ("another RSA key", rsa_signer(OTHER_RSA_KEY)),
                ("an EC key", ec_signer(OTHER_EC_KEY)),
            ]
        )
    )
    assume(not (algorithm == "RS256" and signer[0] == "the key, PKCS#1 v1.5"))
    return compact({"alg": algorithm, **draw(HEADER_EXTRAS)}, valid_claims, signer[1])


KID_ATTACKS = [
    "../../etc/passwd",
    "../../../../../../../../dev/null",
    "/etc/passwd",
    "file:///etc/passwd",
    "..\\..\\windows\\win.ini",
    "rsa-1/../ec-1",
    "' OR '1'='1",
    "rsa-1' --",
    'rsa-1"; DROP TABLE events; --',
    "1 UNION SELECT kid FROM keys",
    "rsa-1\x00",
    "rsa-1 ",
    " rsa-1",
    "RSA-1",
    "rsa-2",
    "",
    "*",
    "%",
    "${jndi:ldap://127.0.0.1:1/a}",
    "{{7*7}}",
    "\ud800",
    "\u202ersa-1",
]
KIDS = st.one_of(
    st.sampled_from(KID_ATTACKS),
    st.text(max_size=40),
    st.integers(100, 12_000).map(lambda n: "k" * n),  # huge
    ANY_JSON.filter(lambda kid: not isinstance(kid, str)),  # not a string at all
)
JWKS_SERVER_SIGNERS: dict[str, tuple[str, Signer]] = {  # name: (for which kid, signer)
    "the RSA key": ("rsa-1", rsa_signer(RSA_KEY)),
    "the EC key": ("ec-1", ec_signer(EC_KEY)),
    "another RSA key": ("", rsa_signer(OTHER_RSA_KEY)),
    "another EC key": ("", ec_signer(OTHER_EC_KEY)),
    "HMAC with the RSA key's PEM": ("", hmac_signer(public_pem(RSA_KEY))),
    "nothing": ("", lambda _: b""),
}


@st.composite
def kid_injected(draw: st.DrawFn) -> str:
    """For a server with a JWKS file (``rsa-1``: RS256, ``ec-1``: ES256) and no other key."""
    kid = draw(st.one_of(KIDS, st.sampled_from(sorted(JWKS_KIDS))))
    algorithm = draw(st.sampled_from(["RS256", "ES256", "HS256", "none"]))
    signer = draw(st.sampled_from(sorted(JWKS_SERVER_SIGNERS)))
    owner, sign = JWKS_SERVER_SIGNERS[signer]
    assume(not (kid == owner and JWKS_KIDS.get(owner) == algorithm))  # the valid token
    return compact({"alg": algorithm, "kid": kid}, claims(), sign)


@st.composite
def huge(draw: st.DrawFn) -> str:
    size = draw(st.integers(8 * 1024, 256 * 1024))
    how = draw(
        st.sampled_from(
            ["garbage", "signed with the secret", "huge header", "huge signature", "dots"]
        )
    )
    if how == "garbage":
        return draw(st.sampled_from(ALPHABET)) * size
    if how == "signed with the secret":  # valid in all but its size
        return compact(HS256, claims(padding="p" * size), SECRET)
    if how == "huge header":
        return compact({**HS256, "x": "h" * size}, claims(), hmac_signer(b"z" * 44))
    if how == "huge signature":
        return valid_hs256() + "A" * size
    return "a." * (size // 2)


# Characters in a token. The test client passes control characters through as they
# are, but re-encodes anything non-ASCII as UTF-8; raw latin-1 bytes (NEL, NBSP...)
# are sent through uvicorn instead, which refuses control characters itself.
ODD_CHARACTERS = st.one_of(
    st.characters(max_codepoint=0x1F),  # control characters, NUL, CR and LF included
    st.just("\x7f"),
    st.characters(min_codepoint=0x80, max_codepoint=0xFF),  # latin-1, NBSP and NEL included
    st.characters(min_codepoint=0x100),  # beyond latin-1: sent as UTF-8 bytes
    st.sampled_from([" ", "\t"]),
)


LATIN_1_CHARACTERS = st.one_of(
    st.characters(min_codepoint=0x80, max_codepoint=0xFF), st.sampled_from([" ", "\t"])
)


@st.composite
def odd_characters(
    draw: st.DrawFn, token: str, characters: st.SearchStrategy[str] = ODD_CHARACTERS
) -> bytes:
    chars = list(token)
    how = draw(st.sampled_from(["insert", "replace", "surround"]))
    inserted = draw(st.lists(characters, min_size=1, max_size=4))
    if how == "surround":
        chars = [inserted[0], *chars, *inserted[1:]]
    for char in inserted if how != "surround" else []:
        position = draw(st.integers(0, len(chars) - 1))
        if how == "insert":
            chars.insert(position, char)
        else:
            chars[position] = char
    mutated = "".join(chars)
    assume(not same_as(token, mutated) and mutated != token)
    return encode_header(mutated)


def encode_header(text: str) -> bytes:
    """As clients send it: latin-1 if it can be, else UTF-8 (the server reads latin-1)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def bad_claims() -> st.SearchStrategy[tuple[str, Any]]:
    """Claims that break one rule each, with a valid HS256 signature: (defect, payload)."""

    def one(name: str, change: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
        return change.map(lambda c: (name, _changed(claims(), c)))

    def now() -> int:  # read when a case is drawn
        return int(time.time())

    not_a_number = st.one_of(
        st.text(string.ascii_letters, min_size=1, max_size=10),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), "", " "]),
    )
    not_a_string = st.one_of(
        st.integers(),
        st.floats(),
        st.booleans(),
        st.lists(st.text(max_size=5), max_size=2),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    )
    return st.one_of(
        one("expired", st.integers(32, 10**10).map(lambda ago: {"exp": now() - ago})),
        one(
            "expired long ago",
            st.one_of(st.integers(-(10**30), 0), st.just(-(10**400)), st.booleans()).map(
                lambda exp: {"exp": exp}
            ),
        ),
        one("not yet valid", st.integers(32, 10**10).map(lambda s: {"nbf": now() + s})),
        one("not valid for ages", st.just({"nbf": 10**400})),
        one("issued in the future", st.integers(32, 10**10).map(lambda s: {"iat": now() + s})),
        one("exp missing", st.just({"exp": MISSING})),
        one("exp null", st.just({"exp": None})),
        one("exp not a number", not_a_number.map(lambda exp: {"exp": exp})),
        one("nbf not a number", not_a_number.map(lambda nbf: {"nbf": nbf})),
        one("iat not a number", not_a_number.map(lambda iat: {"iat": iat})),
        one("sub missing", st.just({"sub": MISSING})),
        one("sub null", st.just({"sub": None})),
        one("sub empty", st.just({"sub": ""})),
        one("sub not a string", not_a_string.map(lambda sub: {"sub": sub})),
        one(
            "sub too long",
            st.text(min_size=MAX_SUBJECT_LENGTH + 1, max_size=600).map(lambda sub: {"sub": sub}),
        ),
        one("sub with NUL", st.text(max_size=20).map(lambda s: {"sub": f"user{s}\x00{s}"})),
        one(
            "sub with a lone surrogate",
            st.characters(categories=["Cs"]).map(lambda c: {"sub": f"user-{c}"}),
        ),
        one(
            "roles not a list",
            st.one_of(
                st.none(),
                st.text(max_size=10),
                st.integers(),
                st.booleans(),
                st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
            ).map(lambda roles: {"roles": roles}),
        ),
        one(
            "roles not strings",
            st.lists(
                st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.just("support"))),
                min_size=1,
                max_size=3,
            ).map(lambda roles: {"roles": ["support", *roles]}),
        ),
        st.one_of(
            st.lists(st.integers(), max_size=3),
            st.text(max_size=10),
            st.integers(),
            st.none(),
            st.booleans(),
        ).map(lambda payload: ("payload not an object", as_json(payload))),
        st.binary(max_size=64)
        .filter(lambda raw: not _json_object(raw))
        .map(lambda raw: ("payload not JSON", raw)),
    )


MISSING = object()


def _changed(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    changed = {**base, **change}
    return {k: v for k, v in changed.items() if v is not MISSING}


def _json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return False


# Sending and checking


def authorization(token: str | bytes) -> bytes:
    return b"Bearer " + (token if isinstance(token, bytes) else encode_header(token))


def assert_refused(response: httpx.Response, what: str) -> None:
    assert response.status_code == 401, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json"), what
    assert response.headers["www-authenticate"].startswith("Bearer"), what
    body = response.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized", what


class Fuzzer:
    """Sends each token to every protected operation of one app, and counts."""

    def __init__(self, api: httpx.Client, operations: list[Operation]) -> None:
        self.api = api  # the test client, or a real HTTP client of a real server
        self.operations = operations
        self.tokens = 0

    @classmethod
    def of(cls, client: Client) -> Fuzzer:
        return cls(client, protected_operations(client.app))

    def refused_everywhere(self, token: str | bytes) -> None:
        self.tokens += 1
        headers = {b"Authorization": authorization(token)}
        for operation in self.operations:
            body: dict[str, Any] | None = (
                {} if operation.method in ("POST", "PUT", "PATCH") else None
            )
            response = self.api.request(
                operation.method, operation.path, headers=headers, json=body
            )
            assert_refused(response, f"{operation.method} {operation.template} {token!r:.200}")

    def report(self, family: str) -> None:
        requests = self.tokens * len(self.operations)
        print(f"\n{family}: {self.tokens} tokens x {len(self.operations)} operations = {requests}")


@contextmanager
def server_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The standard library's records at warning and above, uvicorn's included (its
    loggers do not propagate to the root, where caplog listens)."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING):
            yield
    finally:
        uvicorn.removeHandler(caplog.handler)


@contextmanager
def no_server_failure(
    caplog: pytest.LogCaptureFixture,
) -> Iterator[list[structlog.typing.EventDict]]:
    """Nothing logged as a failure of the server, by structlog or the standard library."""
    with (
        server_logs(caplog),
        structlog.testing.capture_logs([structlog.contextvars.merge_contextvars]) as logs,
    ):
        yield logs
    failures = [
        line
        for line in logs
        if line.get("log_level") in ("error", "critical")
        or line["event"] == "request.unhandled_error"
    ]
    assert not failures, failures[:3]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text[:2000]
    refused = [line for line in logs if line["event"] == "http.request" and line["status"] == 401]
    assert refused, "the requests' log lines were not captured"


def logged(logs: list[structlog.typing.EventDict], request_id: str) -> structlog.typing.EventDict:
    """The request's ``http.request`` line. A real server writes it just after the
    response has gone out, so the client may be faster: wait for it."""

    def lines() -> list[structlog.typing.EventDict]:
        return [e for e in logs if e["event"] == "http.request" and e["request_id"] == request_id]

    wait_until(lines, 10, f"the log line of request {request_id}")
    [line] = lines()
    return line


def settled(api: httpx.Client, logs: list[structlog.typing.EventDict]) -> None:
    """A last request to a real server, whose log line comes after all the others'."""
    request_id = f"settle-{uuid.uuid4().hex}"
    assert api.get("/health/live", headers={"X-Request-ID": request_id}).status_code == 200
    logged(logs, request_id)


def test_the_log_check_sees_a_failure_of_the_server(
    failing: Client, caplog: pytest.LogCaptureFixture, auth: dict[str, str]
) -> None:
    with (
        pytest.raises(AssertionError, match=r"request\.unhandled_error"),
        no_server_failure(caplog),
    ):
        assert failing.get(f"{FAILING}/crash", headers=auth).status_code == 500


# The servers: the session's (HS256), one with an RSA public key, one with a JWKS file


def _other_app(settings: Settings, **jwt_env: str) -> Iterator[Client]:
    changed = settings_for(
        settings.require_database().url,
        settings.require_redis().url,
        PCEM_JWT_SECRET="",  # no secret: only the configured public keys
        **jwt_env,
    )
    container = build_container(changed, pool_size=2)
    app = create_app(container)
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def rs256_client(settings: Settings) -> Iterator[Client]:
    yield from _other_app(
        settings,
        PCEM_JWT_PUBLIC_KEY=public_pem(RSA_KEY).decode(),
        PCEM_JWT_ISSUER=ISSUER,
        PCEM_JWT_AUDIENCE=AUDIENCE,
    )


@pytest.fixture(scope="module")
def jwks_client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    keys = [
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key())), "kid": "rsa-1"},
        {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key())), "kid": "ec-1"},
    ]
    path: Path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    yield from _other_app(settings, PCEM_JWT_JWKS_FILE=str(path))


def test_the_unmutated_tokens_are_valid_so_the_mutations_are_what_is_refused(
    client: Client, rs256_client: Client, jwks_client: Client
) -> None:
    """The baselines: each server accepts its valid token on every protected route
    (403 where a role is needed, 404 for an id that does not exist; never 401)."""
    valid = {
        "HS256": (client, valid_hs256()),
        "RS256": (
            rs256_client,
            compact({"alg": "RS256"}, claims(iss=ISSUER, aud=AUDIENCE), rsa_signer(RSA_KEY)),
        ),
        "JWKS RS256": (
            jwks_client,
            compact({"alg": "RS256", "kid": "rsa-1"}, claims(), rsa_signer(RSA_KEY)),
        ),
        "JWKS ES256": (
            jwks_client,
            compact({"alg": "ES256", "kid": "ec-1"}, claims(), ec_signer(EC_KEY)),
        ),
    }
    for name, (api, token) in valid.items():
        assert (
            api.get("/api/v1/people", headers={b"Authorization": authorization(token)}).json()[
                "items"
            ]
            == []
        ), name
        fuzzer = Fuzzer.of(api)
        assert len(fuzzer.operations) >= 20, [o.template for o in fuzzer.operations]
        for operation in fuzzer.operations:
            if operation.method != "GET":
                continue  # reads only: a valid token must not change anything here
            headers, accepted = {b"Authorization": authorization(token)}, {200, 403, 404}
            if operation.template in STREAMS:
                # A stream never ends by itself, and the test client waits for the end:
                # an unusable Last-Event-ID makes it answer 400, past the token's check.
                headers[b"Last-Event-ID"], accepted = b"not-an-event-id", {400}
            response = api.get(operation.path, headers=headers)
            assert response.status_code in accepted, (name, operation, response.text)


# The families


@pytest.mark.parametrize("segment", SEGMENTS)
def test_flipped_bits_and_bytes_are_refused(
    client: Client, caplog: pytest.LogCaptureFixture, segment: str
) -> None:
    fuzzer, token, index = Fuzzer.of(client), valid_hs256(), SEGMENTS.index(segment)

    @FUZZ
    @given(
        st.one_of(
            flipped_bits(token, index),
            flipped_characters(token, index),
            replaced_characters(token, index),
        )
    )
    def run(mutated: str | bytes) -> None:
        fuzzer.refused_everywhere(mutated)

    with no_server_failure(caplog):
        run()
    fuzzer.report(f"flipped bits/bytes in the {segment}")


@pytest.mark.parametrize(
    ("family", "mutation"),
    [
        ("truncated or extended segments", truncated_or_extended),
        ("extra or missing dots", dots_moved),
        ("base64 padding games", padding_games),
        ("non-ASCII and control characters", odd_characters),
    ],
)
def test_malformed_tokens_are_refused(
    client: Client,
    caplog: pytest.LogCaptureFixture,
    family: str,
    mutation: Callable[[str], st.SearchStrategy[Any]],
) -> None:
    fuzzer, token = Fuzzer.of(client), valid_hs256()

    @FUZZ
    @given(mutation(token))
    def run(mutated: str | bytes) -> None:
        fuzzer.refused_everywhere(mutated)

    with no_server_failure(caplog):
        run()
    fuzzer.report(family)


def test_algorithm_confusion_on_an_hs256_server_is_refused(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    fuzzer = Fuzzer.of(client)

    @settings(FUZZ, max_examples=100)
    @given(confused_on_hs256())
    def run(token: str) -> None:
        fuzzer.refused_everywhere(token)

    with no_server_failure(caplog):
        run()
    fuzzer.report("algorithm confusion, HS256 server")


def test_algorithm_confusion_on_an_rs256_server_is_refused(
    rs256_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    fuzzer = Fuzzer.of(rs256_client)

    @settings(FUZZ, max_examples=80)
    @given(confused_on_rs256())
    def run(token: str) -> None:
        fuzzer.refused_everywhere(token)

    with no_server_failure(caplog):
        run()
    fuzzer.report("algorithm confusion, RS256 (PEM) server")


def test_kid_injection_on_a_jwks_server_is_refused(
    jwks_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    fuzzer = Fuzzer.of(jwks_client)

    @settings(FUZZ, max_examples=100)
    @given(kid_injected())
    def run(token: str) -> None:
        fuzzer.refused_everywhere(token)

    with no_server_failure(caplog):
        run()
    fuzzer.report("kid injection, JWKS server")


def test_huge_tokens_are_refused(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    fuzzer = Fuzzer.of(client)

    @settings(FUZZ, max_examples=30)
    @given(huge())
    def run(token: str) -> None:
        fuzzer.refused_everywhere(token)

    with no_server_failure(caplog):
        run()
    fuzzer.report("huge tokens")


def test_valid_signatures_on_claims_that_break_a_rule_are_refused(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    fuzzer = Fuzzer.of(client)

    @settings(FUZZ, max_examples=150)
    @given(bad_claims())
    def run(case: tuple[str, Any]) -> None:
        _, payload = case
        fuzzer.refused_everywhere(compact(HS256, payload, SECRET))

    with no_server_failure(caplog):
        run()
    fuzzer.report("valid signature, claims that break a rule")


def test_issuer_and_audience_are_checked_when_configured(
    rs256_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    fuzzer = Fuzzer.of(rs256_client)
    others = st.one_of(st.text(max_size=30), ANY_JSON)

    @settings(FUZZ, max_examples=40)
    @given(
        st.one_of(
            others.filter(lambda iss: iss != ISSUER).map(lambda iss: {"iss": iss}),
            others.filter(lambda aud: aud not in (AUDIENCE, [AUDIENCE])).map(
                lambda aud: {"aud": aud}
            ),
            st.sampled_from([{"iss": MISSING}, {"aud": MISSING}, {"iss": None}, {"aud": []}]),
        )
    )
    def run(change: dict[str, Any]) -> None:
        assume(not (isinstance(change.get("aud"), list) and AUDIENCE in change["aud"]))
        payload = _changed(claims(iss=ISSUER, aud=AUDIENCE), change)
        fuzzer.refused_everywhere(compact({"alg": "RS256"}, payload, rsa_signer(RSA_KEY)))

    with no_server_failure(caplog):
        run()
    fuzzer.report("issuer and audience, RS256 server")


ANY_MUTATION: list[Callable[[str], st.SearchStrategy[Any]]] = [
    *(lambda t, i=i: flipped_bits(t, i) for i in range(3)),
    *(lambda t, i=i: flipped_characters(t, i) for i in range(3)),
    truncated_or_extended,
    dots_moved,
    padding_games,
    odd_characters,
]


def test_a_mutation_of_a_remembered_valid_token_is_refused_and_never_remembered(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    token = valid_hs256()
    verifier = client.app.state.verifier
    people = "/api/v1/people"
    assert client.get(people, headers={b"Authorization": authorization(token)}).status_code == 200
    assert token in verifier._verified  # remembered: the next requests skip PyJWT
    fuzzer = Fuzzer.of(client)

    @settings(FUZZ, max_examples=120)
    @given(st.one_of([mutation(token) for mutation in ANY_MUTATION]))
    def run(mutated: str | bytes) -> None:
        for _ in range(2):  # refused, and refused again: a failure is not remembered
            assert_refused(
                client.get(people, headers={b"Authorization": authorization(mutated)}),
                f"{mutated!r:.200}",
            )
        fuzzer.tokens += 1
        sent = mutated.decode("latin-1") if isinstance(mutated, bytes) else mutated
        assert sent.strip(" \t") not in verifier._verified

    with no_server_failure(caplog):
        run()
    assert client.get(people, headers={b"Authorization": authorization(token)}).status_code == 200
    print(f"\nmutations of a remembered token: {fuzzer.tokens} tokens, 2 requests each")


def test_huge_and_non_ascii_tokens_through_uvicorn(
    live_url: str, caplog: pytest.LogCaptureFixture, client: Client
) -> None:
    """The test client skips the HTTP server. uvicorn (httptools) reads a header of any
    size, and passes raw bytes 0x80-0xFF (obs-text) on as they are."""
    token = valid_hs256()
    sent = {
        "100 KB of base64": "A" * 100_000,
        "100 KB, signed with the secret": compact(HS256, claims(padding="p" * 100_000), SECRET),
        "1 MB header, signed with the secret": compact(
            {**HS256, "x": "h" * 1_000_000}, claims(), SECRET
        ),
        "latin-1 inside": token[:20] + "\u00e9\u00ff" + token[20:],
        "UTF-8 after it": token + "\u2603",
        "NBSP after it": token + "\u00a0",
        "NEL before it": "\u0085" + token,
    }
    with no_server_failure(caplog) as logs, httpx.Client(base_url=live_url, timeout=30) as api:
        fuzzer = Fuzzer(api, protected_operations(client.app))
        for value in sent.values():
            fuzzer.refused_everywhere(value)
        settled(api, logs)  # and still serving
    fuzzer.report("huge and non-ASCII, through uvicorn")


def test_an_8_mb_token_through_uvicorn_is_refused_without_holding_the_event_loop(
    live_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = valid_hs256() + "A" * 8_000_000
    headers = {b"Authorization": authorization(token), b"X-Request-ID": b"token-of-8-mb"}

    with no_server_failure(caplog) as logs, httpx.Client(base_url=live_url, timeout=30) as api:
        assert_refused(api.get("/api/v1/people", headers=headers), "8 MB")
        line = logged(logs, "token-of-8-mb")

    assert line["duration_ms"] < 100  # read by PyJWT, it held the event loop for 0.6 s


def test_latin_1_bytes_in_tokens_through_uvicorn(
    live_url: str, caplog: pytest.LogCaptureFixture, client: Client
) -> None:
    """Raw bytes 0x80-0xFF (obs-text, which HTTP allows in a header) reach the app only
    through a real server: the test client would re-encode them as UTF-8."""
    token = valid_hs256()

    @settings(FUZZ, max_examples=25)
    @given(odd_characters(token, LATIN_1_CHARACTERS))
    def run(mutated: bytes) -> None:
        assume(not mutated.endswith((b" ", b"\t")))  # h11 sends none (and servers strip it)
        fuzzer.refused_everywhere(mutated)

    with no_server_failure(caplog) as logs, httpx.Client(base_url=live_url, timeout=10) as api:
        fuzzer = Fuzzer(api, protected_operations(client.app))
        run()
        settled(api, logs)
    fuzzer.report("latin-1 bytes, through uvicorn")


@pytest.mark.parametrize("character", ["\x01", "\x1f", "\x7f"])
def test_control_characters_are_refused_by_uvicorn_before_the_app(
    live_url: str, caplog: pytest.LogCaptureFixture, character: str
) -> None:
    """A control character is not allowed in a header (RFC 9110, 5.5): uvicorn answers
    its own 400 and the app never sees the request. (Through the test client, which
    sends any byte, the app answers 401: see the fuzzing above.)"""
    token = valid_hs256()
    with server_logs(caplog), httpx.Client(base_url=live_url, timeout=10) as api:
        response = api.get(
            "/api/v1/people", headers={b"Authorization": authorization(token + character)}
        )
        assert response.status_code == 400
        assert api.get("/health/live").status_code == 200
        wait_until(lambda: "Invalid HTTP request received." in caplog.messages, 10, "uvicorn")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
