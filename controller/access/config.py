"""The ``access:`` section of the appliance config."""

from __future__ import annotations

from pydantic import Field

from controller.config.base import Spec

#: Written at first boot from the boot partition's settings (mode 0640 root:opswall).
FIRSTBOOT_SECRET_FILE = "/etc/opswall/admin-secret"


class AccessSpec(Spec):
    """Who may use the API: the admin secret, session lifetime, throttling, audit log."""

    admin_secret: str | None = Field(
        default=None,
        min_length=12,
        description="admin's password and bearer token; prefer admin_secret_file",
    )
    admin_secret_file: str = Field(
        default=FIRSTBOOT_SECRET_FILE, description="file holding the admin secret"
    )
    session_idle_s: float = Field(default=4 * 3600, ge=60)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_s: float = Field(default=60.0, ge=1)
    audit_max_bytes: int = Field(default=5 * 1024 * 1024, ge=4096)
    audit_keep: int = Field(default=5, ge=1, le=100)
