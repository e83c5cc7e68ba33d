"""First boot of an appliance: its own identity, then the technician's settings file."""

from __future__ import annotations

import grp
import ipaddress
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator

from controller.appliance.firmware import (
    load_firmware_settings,
    render_boot_files,
    write_boot_files,
    write_file_synced,
)
from controller.config.base import Spec
from controller.config.yamlfile import format_key, parse_yaml
from controller.errors import ConfigError, ConfigProblem, OpswallError

_LOGGER = logging.getLogger(__name__)

SETTINGS_NAME = "opswall-firstboot.yaml"
APPLIED_NAME = "opswall-firstboot.applied.yaml"
REJECTED_NAME = "opswall-firstboot.rejected.yaml"
ERRORS_NAME = "opswall-firstboot.errors.txt"
HOSTNAME_PREFIX = "opswall-"
SERVICE_GROUP = "opswall"
NIC_WAIT_S = 15.0
#: Free space behind the data partition worth growing into.
GROW_MIN_BYTES = 16 * 1024 * 1024

_HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SSH_KEY = re.compile(r"^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/=]+( .*)?$")

Runner = Callable[[Sequence[str], str | None], None]


class FirstBootError(OpswallError):
    """A first-boot step failed; the appliance still boots."""


class NetworkSettingsSpec(Spec):
    """A static address for the wired network, or DHCP."""

    dhcp: bool = False
    address: str | None = Field(default=None, description="e.g. 192.168.10.20/24")
    gateway: str | None = None
    dns: tuple[str, ...] = ()
    ntp: tuple[str, ...] = ()

    @field_validator("address")
    @classmethod
    def _interface(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_interface(value)
            except ValueError:
                raise ValueError(
                    f"found {value!r}, expected an address with prefix like "
                    "192.168.10.20/24"
                ) from None
        return value

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"found {value!r}, expected an IP address") from None
        return value

    @model_validator(mode="after")
    def _dhcp_or_address(self) -> NetworkSettingsSpec:
        if self.dhcp == (self.address is not None):
            raise ValueError(
                "expected either dhcp: true or an address, not both or neither"
            )
        return self


class FirstBootSpec(Spec):
    """The settings file a technician leaves on the boot partition."""

    admin_secret: str | None = Field(default=None, min_length=12)
    hostname: str | None = None
    ssh_authorized_keys: tuple[str, ...] = ()
    wall_resolution: tuple[int, int] | None = None
    network: NetworkSettingsSpec | None = None

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTNAME.match(value):
            raise ValueError(
                f"found {value!r}, expected lower-case letters, digits, inner dashes "
                "(at most 63)"
            )
        return value

    @field_validator("ssh_authorized_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            if not _SSH_KEY.match(key.strip()):
                raise ValueError(
                    f"found {key[:40]!r}, expected a public key line like "
                    "'ssh-ed25519 AAAA... name'"
                )
        return value

    @field_validator("wall_resolution")
    @classmethod
    def _resolution(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not (
            320 <= value[0] <= 7680 and 200 <= value[1] <= 4320
        ):
            raise ValueError(
                f"found {list(value)}, expected [width, height] of a screen"
            )
        return value


@dataclass(frozen=True)
class AppliancePaths:
    """Where first boot reads and writes; tests point these at a temporary tree."""

    boot: Path = Path("/boot/firmware")
    etc: Path = Path("/etc")
    config_dir: Path = Path("/etc/opswall")
    sys_class_net: Path = Path("/sys/class/net")
    data_mount: Path = Path("/data")
    root_mount: Path = Path("/")

    @property
    def config_file(self) -> Path:
        return self.config_dir / "opswall.yaml"


def run_command(argv: Sequence[str], stdin: str | None = None) -> None:
    """Run a system tool; raise FirstBootError with its output when it fails."""
    _LOGGER.debug("running %s", " ".join(argv))
    try:
        subprocess.run(
            list(argv), input=stdin, text=True, check=True, capture_output=True
        )
    except FileNotFoundError as err:
        raise FirstBootError(f"{argv[0]} is not installed") from err
    except subprocess.CalledProcessError as err:
        output = (err.stderr or err.stdout or "").strip()
        raise FirstBootError(
            f"{' '.join(argv)} failed with status {err.returncode}: {output}"
        ) from err


class FirstBoot:
    """The first-boot steps, in the order the unit runs them.

    ``run()`` makes the device's identity when it has none yet (machine-id, SSH host
    keys, hostname ``opswall-XXXXXX`` from the Ethernet MAC, data partition grown to the
    card), then applies the settings file if the boot partition has one. The root
    filesystem is remounted read-write only for the moments that write to /etc.
    """

    def __init__(
        self,
        paths: AppliancePaths | None = None,
        runner: Runner = run_command,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.paths = paths or AppliancePaths()
        self._run = runner
        self._sleep = sleep
        self.reboot_needed = False

    def run(self) -> None:
        """Make the identity if needed, then apply the settings file if present."""
        failures: list[str] = []
        if self.needs_identity():
            try:
                self.make_identity()
            except FirstBootError as err:
                _LOGGER.error("device identity incomplete: %s", err)
                failures.append(str(err))
        if (self.paths.boot / SETTINGS_NAME).is_file():
            try:
                self.apply_settings()
            except (FirstBootError, ConfigError) as err:
                failures.append(str(err))
        if failures:
            raise FirstBootError("; ".join(failures))

    def needs_identity(self) -> bool:
        """True on a device that has not made its machine-id or SSH host keys yet."""
        machine_id = self.paths.etc / "machine-id"
        try:
            content = machine_id.read_text(encoding="ascii").strip()
        except OSError:
            content = ""
        return (
            content in ("", "uninitialized")
            or os.path.ismount(machine_id)
            or not (self.paths.etc / "ssh" / "ssh_host_ed25519_key").exists()
        )

    def make_identity(self) -> None:
        """Commit the machine-id, make SSH host keys and the hostname, grow /data."""
        hostname = self.derived_hostname()
        with self.writable_root():
            if os.path.ismount(self.paths.etc / "machine-id"):
                self._run(["systemd-machine-id-setup", "--commit"], None)
            self._run(["ssh-keygen", "-A"], None)
            self.set_hostname(hostname)
        _LOGGER.info("device identity made: hostname %s, new SSH host keys", hostname)
        try:
            self.grow_data_partition()
        except FirstBootError as err:
            # A small data partition still works: report it and carry on.
            _LOGGER.warning(
                "data partition %s not grown: %s", self.paths.data_mount, err
            )

    def derived_hostname(self) -> str:
        """``opswall-`` and the last six hex digits of the first wired MAC address."""
        deadline = NIC_WAIT_S
        while True:
            mac = self.first_wired_mac()
            if mac is not None or deadline <= 0:
                break
            # The NIC driver may still be loading (udev coldplug runs in parallel).
            self._sleep(0.5)
            deadline -= 0.5
        if mac is None:
            machine_id = (self.paths.etc / "machine-id").read_text(encoding="ascii")
            suffix = machine_id.strip()[:6]
            _LOGGER.warning(
                "no wired network interface found; hostname taken from machine-id %s",
                suffix,
            )
        else:
            suffix = mac.replace(":", "")[-6:]
        return HOSTNAME_PREFIX + suffix.lower()

    def first_wired_mac(self) -> str | None:
        """The MAC of the first eth*/en* interface in name order, if one exists."""
        try:
            names = sorted(p.name for p in self.paths.sys_class_net.iterdir())
        except OSError:
            return None
        for name in names:
            if not name.startswith(("eth", "en")):
                continue
            try:
                mac = (self.paths.sys_class_net / name / "address").read_text().strip()
            except OSError:
                continue
            if (
                re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac)
                and mac != "00:" * 5 + "00"
            ):
                return mac
        return None

    def set_hostname(self, hostname: str) -> None:
        """Write /etc/hostname and /etc/hosts (root must be writable) and apply it."""
        write_file_synced(self.paths.etc / "hostname", hostname + "\n")
        hosts = self.paths.etc / "hosts"
        try:
            lines = hosts.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = ["127.0.0.1\tlocalhost"]
        lines = [line for line in lines if not line.startswith("127.0.1.1")]
        lines.append(f"127.0.1.1\t{hostname}")
        write_file_synced(hosts, "\n".join(lines) + "\n")
        self._run(["hostname", hostname], None)

    def grow_data_partition(self) -> None:
        """Grow the data partition (the last one) and its ext4 to the card's end."""
        device = _mount_source(self.paths.data_mount)
        if device is None:
            raise FirstBootError(f"{self.paths.data_mount} is not mounted")
        part = Path("/sys/class/block") / Path(device).name
        try:
            number = int((part / "partition").read_text())
            start = int((part / "start").read_text())
            size = int((part / "size").read_text())
            disk_dir = part.resolve().parent
            disk_size = int((disk_dir / "size").read_text())
        except (OSError, ValueError) as err:
            raise FirstBootError(f"cannot read the layout of {device}: {err}") from err
        free_bytes = (disk_size - start - size) * 512
        if free_bytes < GROW_MIN_BYTES:
            _LOGGER.info("data partition %s already fills the disk", device)
            return
        disk = f"/dev/{disk_dir.name}"
        self._run(
            ["sfdisk", "--no-reread", "--no-tell-kernel", "-N", str(number), disk],
            ", +\n",
        )
        self._run(["partx", "-u", "--nr", str(number), disk], None)
        self._run(["resize2fs", device], None)
        _LOGGER.info("data partition %s grown by %d MiB", device, free_bytes >> 20)

    def apply_settings(self) -> None:
        """Apply the boot partition's settings file, then rename it (secret removed)."""
        source = self.paths.boot / SETTINGS_NAME
        text = source.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        try:
            spec = _parse_settings(text, str(source))
        except ConfigError as err:
            _LOGGER.error("%s refused, nothing applied:\n%s", source, err)
            write_file_synced(self.paths.boot / ERRORS_NAME, str(err) + "\n")
            write_file_synced(self.paths.boot / REJECTED_NAME, text)
            source.unlink()
            raise

        if spec.hostname is not None or spec.network is not None:
            with self.writable_root():
                if spec.hostname is not None:
                    self.set_hostname(spec.hostname)
                if spec.network is not None:
                    self.write_network(spec.network)
        if spec.admin_secret is not None:
            self.write_private(
                self.paths.config_dir / "admin-secret", spec.admin_secret + "\n"
            )
            _LOGGER.info("admin secret set from %s", source)
        if spec.ssh_authorized_keys:
            keys = "".join(key.strip() + "\n" for key in spec.ssh_authorized_keys)
            ssh_dir = self.paths.config_dir / "ssh"
            ssh_dir.mkdir(mode=0o755, exist_ok=True)
            write_file_synced(ssh_dir / "authorized_keys_root", keys)
            _LOGGER.info("%d SSH key(s) set for root", len(spec.ssh_authorized_keys))
        if spec.wall_resolution is not None:
            self.set_wall_resolution(spec.wall_resolution)

        write_file_synced(self.paths.boot / APPLIED_NAME, _redact(text))
        (self.paths.boot / ERRORS_NAME).unlink(missing_ok=True)
        source.unlink()
        _LOGGER.info("%s applied and renamed to %s", source, APPLIED_NAME)

    def write_network(self, network: NetworkSettingsSpec) -> None:
        """Write (or remove, for DHCP) the static address for systemd-networkd."""
        target = self.paths.etc / "systemd" / "network" / "10-opswall.network"
        if network.dhcp:
            target.unlink(missing_ok=True)
            _LOGGER.info("network set to DHCP")
            return
        lines = [
            "[Match]",
            "Name=en* eth*",
            "",
            "[Network]",
            f"Address={network.address}",
        ]
        if network.gateway:
            lines.append(f"Gateway={network.gateway}")
        lines += [f"DNS={server}" for server in network.dns]
        lines += [f"NTP={server}" for server in network.ntp]
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file_synced(target, "\n".join(lines) + "\n")
        _LOGGER.info("network set to static address %s", network.address)

    def write_private(self, target: Path, text: str) -> None:
        """Write a file only root and the controller's group can read."""
        write_file_synced(target, text, mode=0o640)
        try:
            gid = grp.getgrnam(SERVICE_GROUP).gr_gid
            os.chown(target, 0, gid)
        except (KeyError, PermissionError):
            _LOGGER.debug(
                "%s left to the current user (no %s group)", target, SERVICE_GROUP
            )

    def set_wall_resolution(self, resolution: tuple[int, int]) -> None:
        """Write ``wall.resolution`` into the config and render the boot files again."""
        config = self.paths.config_file
        text = config.read_text(encoding="utf-8")
        updated = _set_resolution(text, str(config), resolution)
        if updated != text:
            # The controller reads the config through its group: keep owner and mode.
            before = config.stat()
            write_file_synced(config, updated, mode=before.st_mode & 0o777)
            try:
                os.chown(config, before.st_uid, before.st_gid)
            except PermissionError:
                _LOGGER.debug("%s left to the current user", config)
            _LOGGER.info("wall resolution set to %dx%d in %s", *resolution, config)
        if (self.paths.boot / "config.txt").is_file():
            firmware, wall = load_firmware_settings(config)
            files = render_boot_files(firmware, wall, source=str(config))
            if write_boot_files(files, self.paths.boot):
                self.reboot_needed = True

    @contextmanager
    def writable_root(self) -> Iterator[None]:
        """Remount the root filesystem read-write for the block, read-only after."""
        root = str(self.paths.root_mount)
        self._run(["mount", "-o", "remount,rw", root], None)
        try:
            yield
        finally:
            # Files written here were fsynced; the read-only remount flushes the rest.
            try:
                self._run(["mount", "-o", "remount,ro", root], None)
            except FirstBootError as err:
                _LOGGER.warning("root filesystem stays writable until reboot: %s", err)


def _parse_settings(text: str, name: str) -> FirstBootSpec:
    source = parse_yaml(text, name)
    data = {} if source.data is None else source.data
    try:
        return FirstBootSpec.model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors():
            loc = tuple(p for p in item["loc"] if isinstance(p, str | int))
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = f"unknown setting {loc[-1]!r}; expected one of: " + ", ".join(
                    FirstBootSpec.model_fields
                )
            problems.append(
                ConfigProblem(name, source.line_of(loc), format_key(loc), message)
            )
        raise ConfigError(problems) from None


def _redact(text: str) -> str:
    return re.sub(
        r"^(\s*)admin_secret\s*:.*$",
        r"\1# admin_secret: applied, removed from this file",
        text,
        flags=re.MULTILINE,
    )


def _set_resolution(text: str, name: str, resolution: tuple[int, int]) -> str:
    value = f"[{resolution[0]}, {resolution[1]}]"
    source = parse_yaml(text, name)
    lines = text.splitlines(keepends=True)
    line = source.lines.get(("wall", "resolution"))
    if line is not None:
        lines[line - 1] = (
            re.sub(
                r"^(\s*resolution\s*:\s*)[^#\n]*?(\s*(#.*)?)$",
                lambda m: m.group(1) + value + (m.group(2) or ""),
                lines[line - 1].rstrip("\n"),
            )
            + "\n"
        )
        return "".join(lines)
    wall_line = source.lines.get(("wall",))
    if wall_line is not None and isinstance(source.data.get("wall"), dict):
        lines.insert(wall_line, f"  resolution: {value}\n")
        return "".join(lines)
    raise FirstBootError(
        f"{name}: cannot set wall.resolution: write the wall section as a block "
        "(wall: followed by indented keys)"
    )


def _mount_source(mount_point: Path) -> str | None:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    source = None
    for entry in mounts:
        fields = entry.split()
        if (
            len(fields) > 1
            and fields[1] == str(mount_point)
            and fields[0].startswith("/dev/")
        ):
            source = fields[0]
    return source
