# Appliance image targets, included by the top-level Makefile. Paths from the repo root.
#   make firmware-test   fast: firmware rendering, systemd notify, first boot, unit lint
#   make image-test      amd64 twin build (~2 min) + qemu boot test (TCG, ~5-10 min)
#   make image           arm64 Raspberry Pi 4 image (.img.xz, .sha256, Imager manifest;
#                        ~45 min under emulation)
.PHONY: image image-amd64 image-test firmware-test

firmware-test:
	.venv/bin/python -m pytest -q tests/appliance -m "not image"

image-amd64:
	bash image-build/build.sh amd64

image-test: image-amd64
	OPSWALL_IMAGE_TEST=1 .venv/bin/python -m pytest -q -s tests/appliance/test_image_boot.py

image:
	bash image-build/build.sh arm64
