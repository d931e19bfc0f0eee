"""Credentials of a database source: where they may come from, and keeping them out of what a report writes.

A password can reach kamlib in the source URL (``postgresql://user:password@host/db``), in ``kam.yaml`` through
``${ENV_VAR}`` interpolation (``postgresql://analyst:${KAM_DB_PASSWORD}@warehouse/sales``), or not at all:
libpq reads ``PGPASSWORD``, ``~/.pgpass`` and ``PGSERVICE`` (``pg_service.conf``) itself. Whatever kamlib
knows of is a *secret*: :func:`redact` hides it in URLs, :func:`scrub` removes it from any text.
"""
from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_ENV = ("PGPASSWORD",)          # libpq's password variable: its value is a secret wherever it appears
MASK = "***"
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):([^@\s]*)@")


def interpolate(text: str, environ=None, *, where: str = "") -> str:
    """``${VAR}`` replaced by the environment's value; a variable that is not set is an error naming it."""
    environ = os.environ if environ is None else environ

    def value(m: re.Match) -> str:
        name = m.group(1)
        if name not in environ:
            raise KeyError(f"{where + ': ' if where else ''}environment variable {name} is not set "
                           f"(referenced as ${{{name}}})")
        return environ[name]
    return ENV_REFERENCE.sub(value, text)


def url_password(url: str) -> str | None:
    """The password written in a URL, or None."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def redact(source: str) -> str:
    """A source URL for display: the password replaced by ``***`` (folders and URLs without one unchanged)."""
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", str(source))


def secrets(source: str, environ=None) -> tuple[str, ...]:
    """Every secret of this source kamlib can know: the URL's password (as written and decoded) and libpq's
    password variable."""
    environ = os.environ if environ is None else environ
    written = _URL_PASSWORD.search(str(source))
    found = [url_password(str(source)), written and written.group(2)] + [environ.get(name) for name in SECRET_ENV]
    return tuple(sorted({s for s in found if s}, key=len, reverse=True))


def scrub(text: str, secret_values) -> str:
    """``text`` with every URL password and every given secret replaced by ``***``."""
    text = redact(text)
    for s in secret_values:
        text = text.replace(s, MASK)
    return text


def scrub_bytes(data: bytes, secret_values) -> bytes:
    for s in secret_values:
        data = data.replace(s.encode("utf-8"), MASK.encode())
    return data
