"""Where the admin secret comes from: the config, the first-boot file, or setup."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from controller.access.config import AccessSpec
from controller.errors import OpswallError

#: Written by the one-time setup (``opswall run --setup``), mode 0600.
STATE_SECRET_FILE = "admin-secret"
MIN_SECRET_CHARS = 12


class AdminSecretError(OpswallError):
    """The admin secret is missing, unreadable or too short."""


def find_admin_secret(spec: AccessSpec, state_dir: Path) -> tuple[str, str] | None:
    """The admin secret and where it was found; None if nothing sets one."""
    if spec.admin_secret is not None:
        return spec.admin_secret, "the config's access.admin_secret"
    for path in (Path(spec.admin_secret_file), state_dir / STATE_SECRET_FILE):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise AdminSecretError(
                f"cannot read the admin secret in {path} ({err.strerror}); the service "
                "reads it as a member of the opswall group (mode 0640 root:opswall)"
            ) from None
        if len(text) < MIN_SECRET_CHARS:
            raise AdminSecretError(
                f"the admin secret in {path} has {len(text)} characters; expected at "
                f"least {MIN_SECRET_CHARS}"
            )
        return text, str(path)
    return None


def missing_secret_message(config_path: Path, spec: AccessSpec) -> str:
    """What to tell a technician whose config has no admin secret."""
    return (
        "no admin secret is set, so Opswall will not serve the wall: nothing on the "
        "network may change it without a credential. Set one (at least "
        f"{MIN_SECRET_CHARS} characters) in one of these ways:\n"
        f"  - write it to {spec.admin_secret_file} (first boot does this from the boot "
        "partition's admin_secret), mode 0640 root:opswall;\n"
        f"  - add access: {{admin_secret: ...}} to {config_path};\n"
        f"  - or start once with `opswall run --config {config_path} --setup`: it prints "
        "a one-time setup code on this console, and the web remote asks for the code "
        "and the new secret."
    )


def new_setup_code() -> str:
    """A one-time code for the setup page: 10 characters, easy to type."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def save_admin_secret(state_dir: Path, secret: str) -> Path:
    """Write the admin secret set up from the remote to the state dir (mode 0600)."""
    path = state_dir / STATE_SECRET_FILE
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return path
