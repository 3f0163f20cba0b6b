"""The site build stands on the publishing core alone: no web stack, no database layer.

Both checks run in a fresh interpreter, so nothing another test imported can hide a dependency.
"""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import hubbub

ROOT = Path(__file__).resolve().parents[1]
SERVICE_STACK = ("flask", "werkzeug", "sqlalchemy", "alembic", "flask_wtf", "flask_limiter", "rq", "redis",
                 "comments_service")

_LOADED = """
import json, sys
{body}
stack = {stack!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in stack)))
"""


def loaded_service_modules(body: str, cwd: Path) -> list[str]:
    script = _LOADED.format(body=body, stack=SERVICE_STACK)
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_site_with_pelican_imports_none_of_the_service(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for part in ("pelicanconf.py", "publishconf.py"):
        shutil.copy2(ROOT / part, site / part)
    shutil.copytree(ROOT / "content", site / "content", ignore=shutil.ignore_patterns("*.json", ".salt"))
    # `pelican content`, as a Pelican user runs it, then the same through `hubbub build`.
    body = ("from pelican import main\n"
            "try:\n    main(['content', '-s', 'pelicanconf.py', '-q'])\n"
            "except SystemExit as exit:\n    assert not exit.code, exit.code\n")
    assert loaded_service_modules(body, site) == []
    assert (site / "output" / ".hubbub" / "manifest.json").is_file()  # the comments plugin ran
    body = "from hubbub.cli import main\ntry:\n    main(['build'])\nexcept SystemExit as exit:\n    assert not exit.code\n"
    assert loaded_service_modules(body, site) == []


def test_no_module_of_the_core_or_the_plugins_imports_the_service():
    names = [m.name for package in ("hubbub.core", "hubbub.plugins", "hubbub.build")
             for m in pkgutil.walk_packages([str(Path(hubbub.__file__).parent / package.split(".")[1])],
                                            prefix=package + ".")]
    names += ["hubbub", "hubbub.core", "hubbub.plugins", "hubbub.build", "hubbub.cli", "hubbub.scaffold",
              "hubbub.settings", "hubbub.doctor", "hubbub.init_site"]
    assert len(names) > 15
    body = "import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    assert loaded_service_modules(body, ROOT) == []
