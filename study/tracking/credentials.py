"""URLs may carry passwords (`postgresql://user:secret@host/db`, `https://user:token@mlflow…`):
this is the one place that masks them. Everything the project prints, logs, tags or writes —
status tables, errors, the parent run's `optuna.storage` tag, SLURM scripts — goes through
`redact` (or `without_password`, for a URL that must still work from a password file)."""

from __future__ import annotations

import re

# scheme://user:password@host → the password is everything between the first ':' after the
# user and the last '@' before the host (a password may itself contain '@' or ':').
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@]*):(?P<password>[^/]*)@")


def redact(url: str) -> str:
    """The URL with its password replaced by `***`."""
    return _USERINFO.sub(r"\g<head>:***@", url, count=1)


def without_password(url: str) -> str:
    """The URL with no password at all (`user@host`): libpq then reads PGPASSWORD or
    ~/.pgpass, MLflow its MLFLOW_TRACKING_PASSWORD."""
    return _USERINFO.sub(r"\g<head>@", url, count=1)


def password_of(url: str) -> str | None:
    found = _USERINFO.match(url)
    return found["password"] if found else None


def scrub(text: str, *urls: str) -> str:
    """`text` (an error message, say) with the passwords of `urls` masked wherever they occur."""
    for url in urls:
        password = password_of(url)
        if password:
            text = text.replace(password, "***")
    return text
