"""Bearer JWT verification exactly as API.md specifies (no web framework here).

Only the algorithms that match a configured key are accepted: HS256 with
``PCEM_JWT_SECRET``; RS256/ES256 with ``PCEM_JWT_PUBLIC_KEY`` or a key from
``PCEM_JWT_JWKS_FILE`` chosen by ``kid``. ``none`` and HS* with a public key can
never verify, because the key is chosen first and the algorithm must match it.

A token longer than ``MAX_TOKEN_LENGTH`` is refused before anything reads it.
A token that verified is remembered (at most ``CACHE_SIZE``, oldest dropped
first) with the instants between which it stays acceptable, so a client's
next requests with it skip PyJWT (0.1 to 0.4 ms a request on the development
machine). Keys are read once at start-up, so a remembered verdict cannot go
stale before the token expires; tokens that fail are never remembered.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from pcem.settings import ConfigError, JWTSettings

LEEWAY_SECONDS = 30
MAX_SUBJECT_LENGTH = 128
ROLES = frozenset({"support", "operator"})
CACHE_SIZE = 4096
# Longer tokens are refused unread. The HTTP server reads a header of any size, and
# PyJWT's checks take ~0.1 ms a KB on the event loop (110 ms for 1 MB, 0.6 s for
# 8 MB): a cheap way to stall every request. 8 KiB is also where nginx and Apache
# refuse a header line by default: such a token could not pass them either.
MAX_TOKEN_LENGTH = 8 * 1024


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: every read and write is scoped to ``user_id``."""

    user_id: str
    roles: frozenset[str]
    # When the token stops being accepted (seconds since the epoch, leeway included):
    # what outlives one request (a notification stream) ends then.
    expires_at: float = math.inf


class InvalidTokenError(Exception):
    """The bearer token cannot be trusted; the message is safe to show the caller."""


@dataclass(frozen=True)
class VerificationKey:
    key: Any
    algorithm: str


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    valid_from: float  # seconds since the epoch, leeway included
    valid_until: float


class TokenVerifier:
    def __init__(self, settings: JWTSettings) -> None:
        self.settings = settings
        self.secret = settings.secret
        self.public_key = _pem_key(settings.public_key) if settings.public_key else None
        self.jwks = _jwks_keys(settings) if settings.jwks_file else {}
        self._verified: dict[str, _Verified] = {}

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError(f"token is longer than {MAX_TOKEN_LENGTH} characters")
        known = self._verified.get(token)
        if known is not None and known.valid_from <= time.time() < known.valid_until:
            return known.principal
        self._verified.pop(token, None)  # expired (or never seen): verify in full
        claims = self._claims(token)
        principal = _principal(claims)
        valid_from, valid_until = _validity(claims)
        principal = replace(principal, expires_at=_instant(valid_until))
        if len(self._verified) >= CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = _Verified(principal, valid_from, valid_until)
        return principal

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            key = self._key_for(header)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self.settings.audience is not None,
                    "verify_iss": self.settings.issuer is not None,
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidTokenError(_describe(error)) from None
        return claims

    def _key_for(self, header: dict[str, Any]) -> VerificationKey:
        algorithm = header.get("alg")
        if algorithm == "HS256" and self.secret:
            return VerificationKey(self.secret, "HS256")
        if algorithm in ("RS256", "ES256"):
            key = self._asymmetric_key(header.get("kid"))
            if key is not None and key.algorithm == algorithm:
                return key
        raise InvalidTokenError(f"token algorithm {algorithm!r} is not accepted")

    def _asymmetric_key(self, kid: Any) -> VerificationKey | None:
        if self.jwks and isinstance(kid, str) and kid in self.jwks:
            return self.jwks[kid]
        return self.public_key


def _validity(claims: dict[str, Any]) -> tuple[float, float]:
    """When a verified token is acceptable, as PyJWT judges it: from ``nbf`` and
    ``iat`` (if given) until ``exp`` (required), each widened by the leeway.

    PyJWT reads each as ``int(value)``, and so does this: a Python int compares
    with the clock exactly at any size, where ``float()`` of an ``exp`` of 10**400
    (which PyJWT accepts: JSON numbers have no bound) raised OverflowError, a 500."""
    starts = [int(claims[c]) for c in ("nbf", "iat") if c in claims]
    valid_from = max(starts) - LEEWAY_SECONDS if starts else -math.inf
    return valid_from, int(claims["exp"]) + LEEWAY_SECONDS


def _instant(seconds: float) -> float:
    """``seconds`` as a float; beyond what a float holds exactly (JSON numbers have no
    bound, and ``float()`` of 10**400 raises): never."""
    return float(seconds) if seconds < 2**53 else math.inf


def _principal(claims: dict[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise InvalidTokenError(f"sub must be a non-empty string of at most {MAX_SUBJECT_LENGTH}")
    if not _storable(subject):
        raise InvalidTokenError("sub must not contain NUL or unpaired surrogates")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidTokenError("roles must be a list of strings")
    return Principal(user_id=subject, roles=frozenset(roles) & ROLES)


def _storable(text: str) -> bool:
    """Whether the user id can be stored and logged: PostgreSQL's text holds no NUL,
    and UTF-8 (the database's and the logs') no unpaired surrogate, which a JSON
    string can still spell (``"\\ud800"``)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _describe(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "token has expired"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"token lacks the required {error.claim!r} claim"
    if isinstance(error, jwt.InvalidIssuerError | jwt.InvalidAudienceError):
        return "token issuer or audience is not accepted"
    return "token is invalid"


def _algorithm_for(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256"
    raise ConfigError("JWT public keys must be RSA (RS256) or EC P-256 (ES256)")


def _pem_key(pem: str) -> VerificationKey:
    key = load_pem_public_key(pem.encode())
    return VerificationKey(key, _algorithm_for(key))


def _jwks_keys(settings: JWTSettings) -> dict[str, VerificationKey]:
    assert settings.jwks_file is not None
    try:
        document = json.loads(settings.jwks_file.read_text())
        keys = {jwk["kid"]: jwt.PyJWK(jwk) for jwk in document["keys"]}
    except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError) as error:
        raise ConfigError(f"PCEM_JWT_JWKS_FILE is not a usable JWKS document: {error}") from None
    return {kid: VerificationKey(k.key, _algorithm_for(k.key)) for kid, k in keys.items()}
