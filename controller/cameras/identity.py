"""Stable camera identity: the same physical camera gets the same id whatever its address."""

from __future__ import annotations

import re
import unicodedata

_MAC_KEYS = ("macaddress", "mac", "hwaddr", "hw")
_SERIAL_KEYS = ("serial", "serialnumber", "serial_number", "sn")


def normalize_mac(text: str) -> str | None:
    """``02:4F:57-00.00.01`` → ``024f57000001``; None when it is not a MAC address."""
    digits = re.sub(r"[^0-9a-fA-F]", "", text)
    if len(digits) != 12 or len(re.sub(r"[0-9a-fA-F:.\-\s]", "", text)) != 0:
        return None
    return digits.lower()


def hardware_key(txt: dict[str, str]) -> str | None:
    """``mac:<12 hex>`` or ``serial:<text>`` from a camera's TXT record, if it has one."""
    keys = hardware_keys(txt)
    return keys[0] if keys else None


def hardware_keys(fields: dict[str, str]) -> list[str]:
    """Every hardware key in ``fields`` (TXT keys or ONVIF scopes), MAC first."""
    lowered = {key.lower(): value for key, value in fields.items()}
    keys = []
    for key in _MAC_KEYS:
        if key in lowered and (mac := normalize_mac(lowered[key])):
            keys.append(f"mac:{mac}")
            break
    for key in _SERIAL_KEYS:
        if lowered.get(key, "").strip():
            keys.append(f"serial:{lowered[key].strip()}")
            break
    return keys


def slug(text: str) -> str:
    """A readable id from a name: lower case ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:48] or "camera"
