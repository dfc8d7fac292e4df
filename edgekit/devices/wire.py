"""What the host and the device side of an SSH device agree on (kept apart so that running
``python -m edgekit.devices.remote`` never imports the module it is running)."""

PROTOCOL = 1  # bump when the host and device sides stop understanding each other
EXIT_REFUSED = 3  # ``remote receive`` refused the artifact (size, space, checksum); the reason is on stderr
