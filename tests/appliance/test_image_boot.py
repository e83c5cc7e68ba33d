"""The amd64 twin of the appliance image, booted under qemu (TCG): ``make image-test``.

One boot serves every test here: the probe (image-build/boottest/probe.sh) runs inside
the guest once the system is up and reports on the second serial port. The first-boot
file put on the boot partition sets a secret, a key and the wall resolution; the disk is
512 MiB larger than the image so the data partition has room to grow.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("OPSWALL_IMAGE_OUT", REPO / "image-build" / "out")) / "amd64"
PROBE = REPO / "image-build" / "boottest" / "probe.sh"
# The probe powers the guest off by itself within its own limits (PROBE_LIMIT_S, 840 s
# after it starts); this is the host's last resort, and keeps make image-test (build
# included) within about 20 minutes.
BOOT_TIMEOUT_S = 1020
GUEST_MAC = "02:4f:57:12:34:56"
TEST_SECRET = "boot-test-secret-0123"
TEST_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpswallBootTestKeyForTheTwin00 boottest"
)
FIRSTBOOT = f"""\
# written by tests/appliance/test_image_boot.py
admin_secret: "{TEST_SECRET}"
ssh_authorized_keys:
  - "{TEST_KEY}"
wall_resolution: [1280, 720]
"""

pytestmark = [
    pytest.mark.image,
    pytest.mark.timeout(BOOT_TIMEOUT_S + 300),
    pytest.mark.skipif(
        os.environ.get("OPSWALL_IMAGE_TEST") != "1",
        reason="boots the amd64 image under qemu; run with make image-test",
    ),
]


@dataclass(frozen=True)
class Boot:
    """What the probe reported, the console log and how long the boot took."""

    reports: dict[str, dict[str, str]]
    log: list[str]
    security: list[str]
    console: str
    seconds: float

    def get(self, report: str, key: str) -> str:
        if report not in self.reports:
            raise AssertionError(
                f"the probe sent no {report!r} report; console tail:\n"
                + self.console[-3000:]
            )
        return self.reports[report].get(key, "")


@pytest.fixture(scope="module")
def boot(tmp_path_factory: pytest.TempPathFactory) -> Boot:
    image = OUT / "opswall.img"
    for needed in (image, OUT / "vmlinuz", OUT / "initrd.img"):
        assert needed.exists(), f"{needed} missing: build it with make image-test"
    qemu = shutil.which("qemu-system-x86_64")
    assert qemu, "qemu-system-x86_64 missing: apt-get install qemu-system-x86"
    work = tmp_path_factory.mktemp("boot")

    disk = work / "disk.img"
    subprocess.run(
        ["cp", "--sparse=always", str(image.resolve()), str(disk)], check=True
    )
    with open(disk, "r+b") as handle:
        handle.truncate(disk.stat().st_size + 512 * 1024 * 1024)
    _put_on_boot_partition(disk, "opswall-firstboot.yaml", FIRSTBOOT, work)
    _put_on_boot_partition(disk, "opswall-boottest.sh", PROBE.read_text(), work)

    result = work / "result.txt"
    console = work / "console.log"
    append = (
        "root=LABEL=opswall-root ro console=ttyS0,115200 net.ifnames=0 "
        'systemd.run="/bin/sh /boot/firmware/opswall-boottest.sh" '
        "systemd.run_success_action=none systemd.run_failure_action=poweroff"
    )
    argv = [
        qemu,
        "-accel",
        "tcg",
        "-m",
        "1536",
        "-smp",
        "2",
        "-display",
        "none",
        "-vga",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
        "-kernel",
        str(OUT / "vmlinuz"),
        "-initrd",
        str(OUT / "initrd.img"),
        "-append",
        append,
        "-drive",
        f"file={disk},if=virtio,format=raw",
        # A NIC on a hub with nothing else attached: a MAC for the hostname, no traffic.
        "-netdev",
        "hubport,id=n0,hubid=0",
        "-device",
        f"virtio-net-pci,netdev=n0,mac={GUEST_MAC}",
        "-serial",
        f"file:{console}",
        "-serial",
        f"file:{result}",
    ]
    started = time.monotonic()
    try:
        subprocess.run(argv, check=False, timeout=BOOT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    seconds = time.monotonic() - started

    reports: dict[str, dict[str, str]] = {}
    log: list[str] = []
    security: list[str] = []
    text = result.read_text(errors="replace") if result.exists() else ""
    for line in text.splitlines():
        if line.startswith("OPSWALL-LOG "):
            log.append(line.removeprefix("OPSWALL-LOG "))
        elif line.startswith("OPSWALL-SECURITY "):
            security.append(line.removeprefix("OPSWALL-SECURITY "))
        elif line.startswith("OPSWALL-BOOTTEST "):
            words = shlex.split(line.removeprefix("OPSWALL-BOOTTEST "))
            reports[words[0]] = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    console_text = console.read_text(errors="replace") if console.exists() else ""
    artifacts = REPO / "test-artifacts" / "image-boot"
    artifacts.mkdir(parents=True, exist_ok=True)
    for path in (result, console):
        if path.exists():
            shutil.copy(path, artifacts / path.name)
    print(f"qemu boot test: {seconds:.0f} s; reports in {artifacts}")
    for name in ("ready", "security", "watchdog", "done", "timeout"):
        if name in reports:
            print(f"  {name}: {reports[name]}")
    return Boot(reports, log, security, console_text, seconds)


def _put_on_boot_partition(disk: Path, name: str, text: str, work: Path) -> None:
    table = json.loads(
        subprocess.run(
            ["sfdisk", "-J", str(disk)], check=True, capture_output=True, text=True
        ).stdout
    )
    offset = table["partitiontable"]["partitions"][0]["start"] * 512
    source = work / name
    source.write_text(text)
    subprocess.run(
        ["mcopy", "-o", "-i", f"{disk}@@{offset}", str(source), f"::{name}"], check=True
    )


def test_probe_ran_to_the_end(boot: Boot) -> None:
    assert "done" in boot.reports, f"probe did not finish:\n{boot.console[-3000:]}"


def test_service_becomes_ready_without_restarts(boot: Boot) -> None:
    assert boot.get("ready", "state") == "active", "\n".join(boot.log)
    assert boot.get("ready", "restarts") == "0", "\n".join(boot.log)


def test_api_answers_inside_the_guest_with_the_firstboot_secret(boot: Boot) -> None:
    assert boot.get("api", "status") == "200", "\n".join(boot.log)
    assert boot.get("api", "anonymous_status") == "401"


def test_no_unit_failed(boot: Boot) -> None:
    assert boot.get("units", "failed") == "none"
    assert boot.get("units", "firstboot") == "active"
    assert boot.get("units", "ssh") == "active"
    # No DRM device in the twin: the wall's X server is not started.
    assert boot.get("units", "xorg") == "inactive"


def test_device_identity_is_made_at_first_boot(boot: Boot) -> None:
    assert boot.get("identity", "hostname") == "opswall-123456"
    assert boot.get("identity", "static_hostname") == "opswall-123456"
    assert re.fullmatch(r"[0-9a-f]{32}", boot.get("identity", "machine_id"))
    assert boot.get("identity", "ssh_host_key") == "yes"
    assert boot.get("identity", "root_password").startswith(("!", "*"))


def test_root_is_read_only_and_data_partition_grew(boot: Boot) -> None:
    assert boot.get("mounts", "root") == "ro"
    assert boot.get("mounts", "data") == "rw"
    assert (
        "/data/var" in boot.get("mounts", "var")
        or "opswall-data" in boot.get("mounts", "var")
        or boot.get("mounts", "var").endswith("[/var]")
    )
    assert int(boot.get("mounts", "data_mib") or 0) > 600


def test_firstboot_file_is_applied_and_renamed(boot: Boot) -> None:
    files = boot.get("settings", "files").split(",")
    assert "opswall-firstboot.yaml" not in files
    assert "opswall-firstboot.applied.yaml" in files
    assert boot.get("settings", "admin_secret") == "640:root:opswall"
    # Rewritten for the new resolution, and still readable by the controller.
    assert boot.get("settings", "config") == "640:root:opswall"
    assert boot.get("settings", "ssh_keys") == "1"
    assert boot.get("settings", "resolution") == "resolution:[1280,720]"


def test_service_runs_as_its_own_user_with_device_groups(boot: Boot) -> None:
    assert boot.get("process", "user") == "opswall"
    groups = boot.get("process", "groups").split(",")
    for group in ("dialout", "gpio", "video", "render", "input"):
        assert group in groups


def test_security_exposure_is_at_most_3(boot: Boot) -> None:
    exposure = float(boot.get("security", "exposure") or 99)
    assert exposure <= 3.0, "\n".join(boot.security)


def test_watchdog_restarts_a_hung_service(boot: Boot) -> None:
    assert boot.get("watchdog", "state") == "active", "\n".join(boot.log)
    assert boot.get("watchdog", "new_pid") != boot.get("watchdog", "old_pid")
    assert int(boot.get("watchdog", "restarts") or 0) >= 1
    assert int(boot.get("watchdog", "timeout_logged") or 0) >= 1
    assert boot.get("api_after_restart", "status") == "200"
