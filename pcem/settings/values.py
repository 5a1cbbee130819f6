"""Reading one ``PCEM_*`` variable: present or not, and of the right form.

Each reader raises :class:`ConfigError` with one line naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

MAX_TIMEOUT_SECONDS = 300.0


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


def optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def check_port(name: str, host_and_port: str) -> None:
    """A port, when given, is a number of 1..65535 (else the URL's parsers raise later)."""
    if host_and_port.startswith("["):  # an IPv6 address: [::1]:5432
        host_and_port = host_and_port.partition("]")[2]
    _, colon, port = host_and_port.rpartition(":")
    if colon and port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError(f"{name} has port {port!r}: it must be a number from 1 to 65535")


def refuse_without(env: Mapping[str, str], needed: str, dependents: tuple[str, ...]) -> None:
    for name in dependents:
        if optional(env, name) is not None:
            raise ConfigError(f"{name} is set but {needed} is not")


def required_with(env: Mapping[str, str], name: str, because: str) -> str:
    value = optional(env, name)
    if value is None:
        raise ConfigError(f"{name} is required when {because} is set")
    return value


def base_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = optional(env, name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be a plain URL: no credentials, query or fragment")
    return value.rstrip("/")


def boolean(env: Mapping[str, str], name: str) -> bool:
    value = (optional(env, name) or "false").lower()
    if value not in _BOOLEANS:
        raise ConfigError(f"{name} must be true or false (also 1/0, yes/no, on/off)")
    return _BOOLEANS[value]


_BOOLEANS = {
    **dict.fromkeys(("true", "1", "yes", "on"), True),
    **dict.fromkeys(("false", "0", "no", "off"), False),
}


def port(env: Mapping[str, str], name: str, default: int) -> int:
    value = optional(env, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ConfigError(f"{name} must be a port number, 1 to 65535, not {value!r}")
    return int(value)


def seconds(
    env: Mapping[str, str], name: str, default: float = 10.0, most: float = MAX_TIMEOUT_SECONDS
) -> float:
    value = optional(env, name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= most:  # also refuses nan
        raise ConfigError(
            f"{name} must be a number of seconds, above 0 and at most {most:g}, not {value!r}"
        )
    return seconds


def count(env: Mapping[str, str], name: str, default: int, most: int, least: int = 0) -> int:
    value = optional(env, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not least <= int(value) <= most:
        raise ConfigError(f"{name} must be a whole number from {least} to {most}, not {value!r}")
    return int(value)
