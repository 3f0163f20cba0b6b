"""The optional deploy command run after a publish, for sites whose output/ is synced elsewhere.

The command (a setting, e.g. `rsync -a --delete --exclude .hubbub output/ host:/srv/www/`) runs
through the shell in the site directory with HUBBUB_OUTPUT_DIR set. A failure raises DeployError;
the caller (the service's job layer) logs it and retries: the approval itself is already saved in
the thread file and in output/, so it is never lost.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class DeployError(Exception):
    """The deploy command failed or timed out; the message carries its exit status and stderr."""


def run_deploy(command: str, site_root: Path | str, output_dir: Path | str, timeout: float = 300) -> str:
    """Run the deploy command; returns its standard output."""
    env = dict(os.environ, HUBBUB_OUTPUT_DIR=str(output_dir), HUBBUB_SITE_DIR=str(site_root))
    try:
        done = subprocess.run(
            command, shell=True, cwd=str(site_root), env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise DeployError(f"deploy command timed out after {timeout:g} s: {command}") from exc
    except OSError as exc:
        raise DeployError(f"deploy command could not start ({exc}): {command}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip()[-2000:]
        raise DeployError(f"deploy command exited with status {done.returncode}: {command}\n{tail}")
    return done.stdout
