"""The appliance: boot firmware settings, systemd integration and first boot."""
