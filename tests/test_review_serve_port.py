"""`hubbub serve` on a port something else holds: a message that says so, as Werkzeug's server
gave, not a Python traceback from Waitress's bind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from build_helpers import ROOT, make_site


def test_a_port_in_use_is_a_message_not_a_traceback(tmp_path):
    site = make_site(tmp_path / "site", posts=1)
    env = {**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"),
           "HUBBUB_SECRET_KEY": "test", "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "hubbub", "serve", "--port", str(port)], cwd=site, env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert f"{port}" in done.stderr and "in use" in done.stderr, output
