"""`hubbub doctor`: check a site and its environment, and say how to fix each problem.

The site's own checks are here (settings, plugins, language, addresses, output/, the theme's
comment section); the comment service's (secret key, database, Akismet, mail, queue) are in
comments_service.doctor, imported only when doctor runs, so the site build never loads them.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .build import BuildError, SettingsError, load_settings
from .core.manifest import HUBBUB_DIR, ManifestError, load_manifest
from .core.render import BEGIN
from .core.words import count

COMMENTS_PLUGIN = "hubbub.plugins.comments"
# Hosts reserved for examples (RFC 2606): a SITEURL on one of them was never filled in.
PLACEHOLDER_HOSTS = ("example.org", "example.com", "example.net")


@dataclass
class Finding:
    status: str  # "ok", "warn" (works, but look at it) or "fail" (something is wrong)
    topic: str
    message: str
    fix: str = ""


def ok(topic: str, message: str) -> Finding:
    return Finding("ok", topic, message)


def warn(topic: str, message: str, fix: str) -> Finding:
    return Finding("warn", topic, message, fix)


def fail(topic: str, message: str, fix: str) -> Finding:
    return Finding("fail", topic, message, fix)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _load(root: Path, publish: bool) -> tuple[dict | None, Finding]:
    name = "publishconf.py" if publish else "pelicanconf.py"
    if publish and (root / "pelicanconf.py").is_file() and not (root / name).is_file():
        return None, warn("settings", f"{root / name} does not exist: production builds (`hubbub build --publish`) "
                          "need it", "add a publishconf.py with the public SITEURL and COMMENTS_URL "
                          "(`hubbub init` in an empty directory writes one to copy)")
    try:
        settings = load_settings(root, publish)
    except SettingsError as exc:  # it says where, as `hubbub build` does
        return None, fail("settings", exc.problem, exc.fix)
    except BuildError as exc:
        return None, fail("settings", str(exc), "run doctor in the site's directory, or set HUBBUB_SITE_DIR")
    return settings, ok("settings", f"{name} loads")


def _absolute_url(topic: str, name: str, value: str, where: str, required: bool) -> Finding | None:
    """A problem with an address setting, or None when it is usable."""
    if not value:
        if required:
            return fail(topic, f"{name} is empty in {where}", f"set {name} to the site's public address, e.g. https://blog.example.org")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return fail(topic, f"{name} = {value!r} in {where} is not an http(s) address",
                    f"set {name} to a full address such as https://blog.example.org")
    if value.endswith("/"):
        return fail(topic, f"{name} = {value!r} in {where} ends with a slash, so links get a double slash",
                    f"remove the trailing slash from {name}")
    return None


def _addresses(dev: dict, prod: dict, env) -> list[Finding]:
    found = []
    site_url, comments_url = prod.get("SITEURL", ""), prod.get("COMMENTS_URL", "")
    problems = [p for p in (
        _absolute_url("addresses", "SITEURL", site_url, "publishconf.py", required=True),
        _absolute_url("addresses", "COMMENTS_URL", comments_url, "publishconf.py", required=False),
        _absolute_url("addresses", "COMMENTS_URL", dev.get("COMMENTS_URL", ""), "pelicanconf.py", required=False),
    ) if p]
    if problems:
        return problems
    if prod.get("RELATIVE_URLS"):
        found.append(warn("addresses", "publishconf.py sets RELATIVE_URLS = True: feeds and emails need absolute links",
                          "set RELATIVE_URLS = False in publishconf.py"))
    host = (urlsplit(site_url).hostname or "").lower()
    if host in PLACEHOLDER_HOSTS or host.endswith(tuple("." + h for h in PLACEHOLDER_HOSTS)):
        found.append(warn("addresses", f"publishconf.py's SITEURL {site_url} is a placeholder",
                          "set HUBBUB_SITEURL (and HUBBUB_COMMENTS_URL if the service has its own address), "
                          "or edit publishconf.py, before `hubbub build --publish`"))
    elif site_url.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        found.append(warn("addresses", f"the site's public address {site_url} is not HTTPS: moderators' "
                          "logins and commenters' details would cross the network in clear",
                          "serve the site over HTTPS and use https:// in SITEURL"))
    checks = [("HUBBUB_PUBLIC_URL", comments_url or site_url, "the comment service's public address (links in emails)"),
              ("PYTHON_AKISMET_BLOG_URL", site_url, "the site Akismet is told about")]
    for name, expected, meaning in checks:
        value = (env.get(name) or "").strip()
        if value and origin(value) != origin(expected):
            found.append(warn("addresses", f"{name}={value} ({meaning}) is not on {origin(expected)}, "
                              "where publishconf.py puts it", f"make {name} and publishconf.py agree"))
    if not found:
        where = "the site's own origin" if not comments_url or origin(comments_url) == origin(site_url) else comments_url
        found.append(ok("addresses", f"production: site {site_url}, comments sent to {where}"))
    return found


def _plugins(dev: dict) -> Finding:
    plugins = [p if isinstance(p, str) else getattr(p, "__name__", "") for p in dev.get("PLUGINS") or []]
    if COMMENTS_PLUGIN not in plugins:
        return fail("plugins", f"{COMMENTS_PLUGIN} is not in PLUGINS: pages get no comments and the service knows no article",
                    f'add "{COMMENTS_PLUGIN}" to PLUGINS in pelicanconf.py')
    return ok("plugins", f"{COMMENTS_PLUGIN} is enabled")


def _language(dev: dict) -> Finding:
    from .core import i18n

    wanted = str(dev.get("DEFAULT_LANG") or "")
    shipped = i18n.languages()
    if re.split(r"[-_.@]", wanted, maxsplit=1)[0].lower() not in shipped:
        return warn("language", f"DEFAULT_LANG = {wanted!r} has no Hubbub catalog: the site's and the service's text "
                                "stays English", f"use one of {', '.join(shipped)}, or add a catalog (README, Languages)")
    return ok("language", f"DEFAULT_LANG = {wanted!r}: pages, comments, emails and moderation in "
                          f"{i18n.site_language(wanted)}")


def _writable(directory: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _output(dev: dict, env) -> list[Finding]:
    output = Path(dev["OUTPUT_PATH"])
    service_output = env.get("HUBBUB_OUTPUT_DIR")
    if service_output and Path(service_output).resolve() != output.resolve():
        return [fail("output", f"the build writes {output} but HUBBUB_OUTPUT_DIR makes the service publish into {service_output}",
                     "unset HUBBUB_OUTPUT_DIR, or set OUTPUT_PATH in the settings to the same directory")]
    if not output.is_dir():
        parent = output.parent
        if not _writable(parent):
            return [fail("output", f"{output} does not exist and {parent} is not writable",
                         f"create {output} and let the user running hubbub write to it")]
        return [warn("output", f"{output} is not built yet", "run `hubbub build`")]
    if not _writable(output):
        return [fail("output", f"{output} is not writable: builds and the comment service cannot update the site",
                     f"let the user running hubbub write to {output} (chown or chmod)")]
    try:
        manifest = load_manifest(output)
    except (ManifestError, OSError) as exc:
        return [warn("output", f"{output} holds no Hubbub build ({exc})", "run `hubbub build`")]
    return [ok("output", f"{output} is writable and built"), *_built(output, manifest)]


def _built(output: Path, manifest: dict) -> list[Finding]:
    """Pages the fast publisher cannot patch: the theme's article page has no comment section."""
    missing = []
    for slug, entry in manifest.get("threads", {}).items():
        try:
            page = (output / entry["save_as"]).read_text(encoding="utf-8")
        except (OSError, KeyError, UnicodeDecodeError):
            continue
        if BEGIN.format(slug=slug) not in page:
            missing.append(entry["save_as"])
    if missing:
        return [fail("theme", f"{count(len(missing), 'article page')} {'has' if len(missing) == 1 else 'have'} no comment section, e.g. {missing[0]}",
                     'add {% include "hubbub/thread.html" %} to the theme\'s article.html where comments '
                     "belong (or hubbub/comments.html and hubbub/comment_form.html), then `hubbub build`")]
    return [ok("theme", f"every article page ({len(manifest.get('threads', {}))}) has its comment section")]


def _build_matches(prod: dict, output: Path) -> list[Finding]:
    """A production build in output/ made with other addresses than publishconf.py's."""
    try:
        site = load_manifest(output)["site"]
    except (ManifestError, KeyError, OSError):
        return []
    # "publish" is None after a plain `pelican` run, which does not say: then absolute links tell.
    published = site["publish"] if site.get("publish") is not None else not site.get("relative_urls", True)
    if not published:
        return []  # a development build: nothing to compare
    found = []
    for key, name in (("siteurl", "SITEURL"), ("comments_url", "COMMENTS_URL")):
        if site.get(key, "") != prod.get(name, ""):
            found.append(fail("addresses", f"output/ was built with {name} {site.get(key)!r}; publishconf.py "
                              f"now says {prod.get(name)!r}", "run `hubbub build --publish` with the current settings"))
    return found


def _form_promises(settings: dict, env) -> Finding:
    """The reply form tells readers whether Akismet checks comments and offers email: both must be
    what the service does (its environment), as the privacy page says."""
    wrong = []
    for name, variable in (("COMMENTS_AKISMET", "PYTHON_AKISMET_API_KEY"), ("COMMENTS_EMAIL", "HUBBUB_SMTP_HOST")):
        says, does = bool(settings.get(name, True)), bool((env.get(variable) or "").strip())
        if says != does:
            wrong.append((name, f"{name} = {says} while {variable} is {'set' if does else 'not set'}", does))
    if not wrong:
        return ok("reply form", "what it says of Akismet and email is what the service does")
    return warn("reply form", "the form tells readers what the service does not: " + "; ".join(w[1] for w in wrong),
                "in pelicanconf.py set " + ", ".join(f"{name} = {does}" for name, _, does in wrong)
                + ", say the same on the privacy page, and rebuild")


def site_findings(root: Path, env) -> list[Finding]:
    shipped = Path(env.get("HUBBUB_OUTPUT_DIR") or root / "output") / HUBBUB_DIR / "manifest.json"
    if not (root / "pelicanconf.py").is_file() and shipped.is_file():
        # A web host of a deployment on several hosts (deploy/README.md): output/ shipped to it,
        # the service only; the site's own checks belong to the publishing host.
        return [ok("settings", f"no site project here, only the shipped {shipped.parent.parent}: a web host "
                               "(run `hubbub doctor` on the publishing host for the site's checks)")]
    dev, loaded = _load(root, publish=False)
    found = [loaded]
    if dev is None:
        return found
    prod, loaded = _load(root, publish=True)
    found.append(loaded)
    found.append(_plugins(dev))
    found.append(_language(dev))
    found.append(_form_promises(prod or dev, env))
    if prod is not None:
        found += _addresses(dev, prod, env)
    found += _output(dev, env)
    if prod is not None:
        found += _build_matches(prod, Path(dev["OUTPUT_PATH"]))
    return found


def findings(root: Path, env=None) -> list[Finding]:
    """Every check, site then comment service, in the order they are printed."""
    env = os.environ if env is None else env
    found = site_findings(root, env)
    try:
        from comments_service.doctor import service_findings
    except ImportError as exc:
        return [*found, fail("service", f"the comment service cannot be imported: {exc}",
                             "reinstall Hubbub: pip install --force-reinstall hubbub")]
    return found + service_findings(env)


def report(found: list[Finding]) -> tuple[list[str], bool]:
    """The lines to print, and whether everything is right (no failure)."""
    width = max(len(f.topic) for f in found)
    lines = []
    for f in found:
        label = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[f.status]
        message = " ".join(f.message.split())  # drivers' errors come in several lines
        lines.append(f"{label}  {f.topic:<{width}}  {message}")
        if f.fix:
            lines.append(f"{'':4}  {'':<{width}}  fix: {f.fix}")
    failures = sum(f.status == "fail" for f in found)
    warnings = sum(f.status == "warn" for f in found)
    if failures:
        lines.append(f"{count(failures, 'problem')} to fix" + (f", {count(warnings, 'warning')}." if warnings else "."))
    else:
        lines.append("No problems found" + (f" ({count(warnings, 'warning')})." if warnings else "."))
    return lines, not failures
