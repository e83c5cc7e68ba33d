"""HTTPS for the web remote: a self-signed certificate made once, kept in the state dir."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_LOGGER = logging.getLogger(__name__)

CERT_FILE = "tls/cert.pem"
KEY_FILE = "tls/key.pem"
CERT_VALID_DAYS = 10 * 365


def ensure_certificate(state_dir: Path, host: str) -> tuple[Path, Path]:
    """The certificate and key in the state dir, made (self-signed) if missing."""
    cert_path, key_path = state_dir / CERT_FILE, state_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    cert_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path.parent.chmod(0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [
        x509.DNSName(hostname),
        x509.DNSName(f"{hostname}.local"),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        if host not in ("0.0.0.0", "::", "127.0.0.1"):
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"Opswall {hostname}")]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    # The certificate goes last: a start cut short leaves no certificate, so the next
    # start makes a new pair instead of loading a key that does not match.
    cert_path.unlink(missing_ok=True)
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":")
    _LOGGER.info(
        "made a self-signed TLS certificate %s (SHA-256 %s)", cert_path, fingerprint
    )
    return cert_path, key_path


def server_context(state_dir: Path, host: str) -> ssl.SSLContext:
    """An SSL context for the web server with the appliance's certificate."""
    cert_path, key_path = ensure_certificate(state_dir, host)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` whole (mode 0600) or not at all: a temporary file, then rename."""
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
