# Appliance image targets, included by the top-level Makefile. Paths from the repo root.
#   make firmware-test   fast: firmware rendering, systemd notify, first boot, unit lint
#   make image-test      amd64 twin build (~2 min) + qemu boot test (TCG, ~5-10 min, 17 at most)
#   make image           arm64 Raspberry Pi 4 image (.img.xz, .sha256, Imager manifest;
#                        ~45 min under emulation), then make image-check
#   make image-check     the finished .img.xz: checksum, fsck of every partition, the
#                        first-boot file on the FAT partition (IMAGE=path for another)
.PHONY: image image-amd64 image-test image-check firmware-test

firmware-test:
	.venv/bin/python -m pytest -q tests/appliance -m "not image"

image-amd64:
	bash image-build/build.sh amd64

# After a pass, image-build/TESTED_DIGEST records what was booted (commit it): CI boots
# the image again only when systemd/, firmware/, image-build/, controller/ or pyproject.toml
# differ from it (.ci/image-test-if-changed). The digest is taken before the build, so
# an edit made while the test runs is not counted as tested.
image-test:
	@mkdir -p image-build/out && image-build/tested-digest > image-build/out/.digest-under-test
	bash image-build/build.sh amd64
	OPSWALL_IMAGE_TEST=1 .venv/bin/python -m pytest -q -s tests/appliance/test_image_boot.py
	cp image-build/out/.digest-under-test image-build/TESTED_DIGEST
	@echo "image-test: passed; image-build/TESTED_DIGEST is $$(cat image-build/TESTED_DIGEST)"

image:
	bash image-build/build.sh arm64
	bash image-build/check-image.sh image-build/out/arm64/opswall.img.xz

image-check:
	bash image-build/check-image.sh $(IMAGE)
