"""The JWT rules of API.md, including the classic attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from freezegun import freeze_time

from pcem.identity.tokens import (
    LEEWAY_SECONDS,
    MAX_TOKEN_LENGTH,
    InvalidTokenError,
    TokenVerifier,
)
from pcem.settings import ConfigError, JWTSettings

SECRET = "s" * 40
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "alice", "exp": int(time.time()) + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_raw_key(payload: dict[str, Any], key: bytes) -> str:
    """Sign HS256 by hand: PyJWT refuses to use a PEM key as an HMAC secret."""
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(payload).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_hs256_token_with_the_secret_gives_the_subject_and_roles() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    token = jwt.encode(claims(roles=["support", "astronaut"]), SECRET, algorithm="HS256")

    principal = verifier.verify(token)

    assert principal.user_id == "alice"
    assert principal.roles == {"support"}  # unknown roles grant nothing


def test_rs256_token_with_the_configured_public_key_is_accepted() -> None:
    verifier = TokenVerifier(JWTSettings(public_key=public_pem(RSA_KEY)))

    assert verifier.verify(jwt.encode(claims(), RSA_KEY, algorithm="RS256")).user_id == "alice"


def test_es256_key_is_selected_from_the_jwks_file_by_kid(tmp_path: Path) -> None:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "ec-1"}, {**rsa_jwk, "kid": "rsa-1"}]}))
    verifier = TokenVerifier(JWTSettings(jwks_file=jwks))

    ec_token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})
    rsa_token = jwt.encode(claims(sub="bob"), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    wrong_kid = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "rsa-1"})

    assert verifier.verify(ec_token).user_id == "alice"
    assert verifier.verify(rsa_token).user_id == "bob"
    with pytest.raises(InvalidTokenError):
        verifier.verify(wrong_kid)


def test_unreadable_jwks_file_is_a_configuration_error(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text("{not json")

    with pytest.raises(ConfigError, match="PCEM_JWT_JWKS_FILE"):
        TokenVerifier(JWTSettings(jwks_file=jwks))


ISSUER, AUDIENCE = "https://id.example", "pcem"


def strict_claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for a verifier that checks issuer and audience."""
    return claims(**{"iss": ISSUER, "aud": AUDIENCE, **overrides})


def rs256(payload: dict[str, Any], key: Any = RSA_KEY) -> str:
    return jwt.encode(payload, key, algorithm="RS256")


# Each token is valid in every respect but the one its name says.
ATTACKS: dict[str, Callable[[], str]] = {
    # alg "none" takes the key None, which PyJWT's annotation of encode() leaves out
    "alg none": lambda: jwt.encode(strict_claims(), None, algorithm="none"),  # type: ignore[arg-type]
    "HS256 signed with the public key": lambda: hs256_with_raw_key(
        strict_claims(), public_pem(RSA_KEY).encode()
    ),
    "expired": lambda: rs256(strict_claims(exp=int(time.time()) - 120)),
    "missing exp": lambda: rs256(strict_claims(exp=None)),
    "missing sub": lambda: rs256(strict_claims(sub=None)),
    "empty sub": lambda: rs256(strict_claims(sub="")),
    "sub over 128 chars": lambda: rs256(strict_claims(sub="a" * 129)),
    "roles not a list": lambda: rs256(strict_claims(roles="operator")),
    "wrong issuer": lambda: rs256(strict_claims(iss="https://evil.example")),
    "missing issuer": lambda: rs256(strict_claims(iss=None)),
    "wrong audience": lambda: rs256(strict_claims(aud="someone-else")),
    "bad signature": lambda: rs256(strict_claims())[:-4] + "AAAA",
    "signed by another key": lambda: rs256(
        strict_claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ),
    "ES256 when the key is RSA": lambda: jwt.encode(strict_claims(), EC_KEY, algorithm="ES256"),
    "garbage": lambda: "not.a.token",
    "empty": lambda: "",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_tokens_are_refused(attack: str) -> None:
    verifier = TokenVerifier(
        JWTSettings(public_key=public_pem(RSA_KEY), issuer=ISSUER, audience=AUDIENCE)
    )

    with pytest.raises(InvalidTokenError):
        verifier.verify(ATTACKS[attack]())


def test_a_token_valid_in_every_respect_passes_the_attack_settings() -> None:
    verifier = TokenVerifier(
        JWTSettings(public_key=public_pem(RSA_KEY), issuer=ISSUER, audience=AUDIENCE)
    )

    assert verifier.verify(rs256(strict_claims())).user_id == "alice"


def test_clock_skew_up_to_the_leeway_is_tolerated() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    just_expired = jwt.encode(claims(exp=int(time.time()) - 10), SECRET, algorithm="HS256")

    assert verifier.verify(just_expired).user_id == "alice"


def test_hs256_is_refused_when_only_a_public_key_is_configured() -> None:
    verifier = TokenVerifier(JWTSettings(public_key=public_pem(RSA_KEY)))
    token = jwt.encode(claims(), SECRET, algorithm="HS256")

    with pytest.raises(InvalidTokenError, match="not accepted"):
        verifier.verify(token)


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    token = jwt.encode(claims(exp=int(time.time()) + 60), SECRET, algorithm="HS256")

    with freeze_time(datetime.now(UTC)) as clock:
        assert verifier.verify(token).user_id == "alice"  # verified, then remembered
        clock.tick(60 + LEEWAY_SECONDS - 1)
        assert verifier.verify(token).user_id == "alice"
        clock.tick(2)
        with pytest.raises(InvalidTokenError, match="expired"):
            verifier.verify(token)


def test_the_principal_says_when_its_token_stops_being_accepted() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    exp = int(time.time()) + 60
    token = jwt.encode(claims(exp=exp), SECRET, algorithm="HS256")
    endless = jwt.encode(claims(exp=10**400), SECRET, algorithm="HS256")

    assert verifier.verify(token).expires_at == exp + LEEWAY_SECONDS
    assert verifier.verify(token).expires_at == exp + LEEWAY_SECONDS  # remembered
    assert verifier.verify(endless).expires_at == math.inf


def test_a_token_not_yet_valid_is_refused_even_after_it_was_seen_valid_elsewhere() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    later = int(time.time()) + 600
    token = jwt.encode(claims(nbf=later, exp=later + 600), SECRET, algorithm="HS256")

    with pytest.raises(InvalidTokenError):
        verifier.verify(token)
    with freeze_time(datetime.fromtimestamp(later, UTC)) as clock:
        assert verifier.verify(token).user_id == "alice"
        clock.move_to(datetime.fromtimestamp(later - LEEWAY_SECONDS - 5, UTC))
        with pytest.raises(InvalidTokenError):
            verifier.verify(token)


def test_a_refused_token_is_refused_every_time() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    forged = jwt.encode(claims(), "x" * 40, algorithm="HS256")

    for _ in range(3):
        with pytest.raises(InvalidTokenError):
            verifier.verify(forged)


@pytest.mark.parametrize(
    ("times", "accepted"),
    [
        ({"exp": 10**400}, True),  # no float holds it; PyJWT's int() does, and accepts it
        ({"iat": -(10**400)}, True),
        ({"nbf": -(10**400)}, True),
        ({"exp": -(10**400)}, False),
        ({"nbf": 10**400}, False),
    ],
)
def test_time_claims_beyond_the_range_of_a_float_are_judged_as_pyjwt_does(
    times: dict[str, int], accepted: bool
) -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    token = jwt.encode(claims(**times), SECRET, algorithm="HS256")

    if accepted:
        assert verifier.verify(token).user_id == "alice"
        assert verifier.verify(token).user_id == "alice"  # remembered as well
    else:
        with pytest.raises(InvalidTokenError):
            verifier.verify(token)


@pytest.mark.parametrize("subject", ["user\x00", "\x00", "user-\ud800", "\udfff"])
def test_a_subject_the_database_or_the_logs_cannot_hold_is_refused(subject: str) -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    token = jwt.encode(claims(sub=subject), SECRET, algorithm="HS256")

    with pytest.raises(InvalidTokenError, match="NUL or unpaired surrogates"):
        verifier.verify(token)


def signed_of_length(length: int) -> str:
    """A valid token of exactly ``length`` characters (a padding claim makes it so)."""
    for name in ("padding", "pad", "p"):  # base64 grows in steps: one of them fits
        for size in range(max(0, length * 3 // 4 - 200), length):
            token = jwt.encode(claims(**{name: "p" * size}), SECRET, algorithm="HS256")
            if len(token) == length:
                return token
            if len(token) > length:
                break
    raise AssertionError(f"no token of exactly {length} characters")


def test_a_token_up_to_the_length_limit_is_verified() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))

    assert verifier.verify(signed_of_length(MAX_TOKEN_LENGTH)).user_id == "alice"


def test_a_longer_token_is_refused_without_being_read() -> None:
    verifier = TokenVerifier(JWTSettings(secret=SECRET))
    well_signed = signed_of_length(MAX_TOKEN_LENGTH + 1)
    huge = jwt.encode(claims(), SECRET, algorithm="HS256") + "A" * 8_000_000

    with pytest.raises(InvalidTokenError, match="longer than"):
        verifier.verify(well_signed)
    started = time.perf_counter()
    with pytest.raises(InvalidTokenError, match="longer than"):
        verifier.verify(huge)
    assert time.perf_counter() - started < 0.1  # read in full, it took 0.6 s
