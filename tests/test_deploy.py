"""Production setup: the nginx site file (checked and run by a real nginx), and the real service
under gunicorn with 4 workers (and with Redis and `hubbub worker`s) under concurrent load:
no comment lost, each checked once, each job run once."""

from __future__ import annotations

import collections
import dataclasses
import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from attack_helpers import stop_group
from conftest import POSTGRES_UP, REDIS_UP
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SLUG = "social-media-and-network-marketing"
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs nginx-light as root)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{tail}")


def answers(url: str, **kw) -> bool:
    try:
        return httpx.get(url, timeout=1, **kw).status_code == 200
    except httpx.HTTPError:
        return False


# The other files ---------------------------------------------------------------------------------

def test_gunicorn_settings_and_units_agree():
    settings: dict = {}
    exec((DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8"), settings)
    assert settings["workers"] == 4 and settings["bind"] == "127.0.0.1:8001" and settings["preload_app"] is False
    assert "127.0.0.1" in settings["forwarded_allow_ips"] and settings["timeout"] >= 10
    assert "127.0.0.1:8001" in (DEPLOY / "hubbub.conf").read_text(encoding="utf-8")
    service = (DEPLOY / "hubbub.service").read_text(encoding="utf-8")
    assert 'gunicorn --config /srv/hubbub/deploy/gunicorn.conf.py "comments_service:create_app()"' in service
    assert "ExecStart=/srv/hubbub/.venv/bin/hubbub worker" in (DEPLOY / "hubbub-worker.service").read_text()
    for unit in ("hubbub.service", "hubbub-worker.service"):
        assert "EnvironmentFile=/etc/hubbub/hubbub.env" in (DEPLOY / unit).read_text(encoding="utf-8")


def test_nginx_lets_through_every_comment_the_service_accepts():
    """A body nginx refuses gets nginx's own 413 page, not the service's, which keeps what was typed."""
    import re

    from comments_service.config import Config

    found = re.search(r"client_max_body_size\s+(\d+)k;", (DEPLOY / "hubbub.conf").read_text(encoding="utf-8"))
    assert found, "deploy/hubbub.conf sets no client_max_body_size in kilobytes"
    default = next(f.default for f in dataclasses.fields(Config) if f.name == "max_body_bytes")
    assert int(found.group(1)) * 1024 >= default


def test_the_env_file_example_is_accepted_by_the_service(site_dir, tmp_path):
    """Every setting in hubbub.env.example (commented ones too) is one the service understands."""
    from comments_service.config import load_config

    env = {}
    for line in (DEPLOY / "hubbub.env.example").read_text(encoding="utf-8").splitlines():
        line = line.lstrip("#").strip()
        if "=" in line and line.split("=", 1)[0].isupper() and " " not in line.split("=", 1)[0]:
            key, value = line.split("=", 1)
            env[key] = value.strip('"')
    assert {"HUBBUB_SECRET_KEY", "PYTHON_AKISMET_API_KEY", "HUBBUB_TRUSTED_PROXIES", "HUBBUB_DATABASE_URL",
            "HUBBUB_QUEUE_URL"} <= set(env)
    env.update(HUBBUB_SITE_DIR=str(site_dir), HUBBUB_INSTANCE_DIR=str(tmp_path / "instance"),
               PYTHON_AKISMET_API_KEY="a-key", HUBBUB_SMTP_PASSWORD="a-password")
    config = load_config(env)
    assert config.rate_limit == "5/minute;60/day" and config.queue_url.startswith("redis://")
    assert config.database_url.startswith("postgresql+psycopg://")


# nginx ----------------------------------------------------------------------------------------

def nginx_config(tmp: Path, output: Path, service_port: int) -> tuple[Path, int, int]:
    """deploy/hubbub.conf with its placeholders replaced, inside a minimal nginx.conf."""
    http_port, https_port = free_port(), free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=hubbub.example.org", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   check=True, capture_output=True)
    site = (DEPLOY / "hubbub.conf").read_text(encoding="utf-8")
    for old, new in [
        ("listen [::]:80;", ""), ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/letsencrypt/live/hubbub.example.org/fullchain.pem", str(tmp / "cert.pem")),
        ("/etc/letsencrypt/live/hubbub.example.org/privkey.pem", str(tmp / "key.pem")),
        ("/srv/hubbub/output", str(output)), ("/var/www/letsencrypt", str(tmp / "acme")),
        ("127.0.0.1:8001", f"127.0.0.1:{service_port}"),
        ("/var/log/nginx/hubbub.access.log", str(tmp / "hubbub.access.log")),
    ]:
        assert old in site, f"deploy/hubbub.conf no longer has {old!r}: update this test's substitutions"
        site = site.replace(old, new)
    (tmp / "hubbub.conf").write_text(site, encoding="utf-8")
    temp = "".join(f"  {kind}_temp_path {tmp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read pytest's private tmp dirs
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        f"  access_log {tmp / 'access.log'};\n{temp}  include {tmp / 'hubbub.conf'};\n}}\n",
        encoding="utf-8")
    return conf, http_port, https_port


@needs_nginx
def test_nginx_accepts_the_site_file(tmp_path, site_dir):
    conf, _h, _s = nginx_config(tmp_path, site_dir / "output", 8001)
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


@needs_nginx
def test_nginx_serves_the_site_and_proxies_the_service(tmp_path, site_dir, service_env, make_app):
    from werkzeug.serving import make_server

    from comments_service.models import Comment

    env = {**service_env, "HUBBUB_TRUSTED_PROXIES": "127.0.0.1"}
    app = make_app(env)
    service_port = free_port()
    server = make_server("127.0.0.1", service_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = site_dir / "output"
    # A precompressed file whose content differs from the plain one: only gzip_static sends it.
    page = out / "posts" / SLUG / "index.html"
    page.with_name("index.html.gz").write_bytes(gzip.compress(b"<p>precompressed copy</p>"))
    (out / ".git").mkdir()
    (out / ".git" / "config").write_text("[core] secret")
    conf, http_port, https_port = nginx_config(tmp_path, out, service_port)
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"https://127.0.0.1:{https_port}"
    try:
        wait_until(lambda: answers(f"{base}/", verify=False) or nginx.poll() is not None, 10, "nginx",
                   tmp_path / "error.log")
        assert nginx.poll() is None, nginx.stderr.read().decode()
        with httpx.Client(verify=False, timeout=5) as client:
            plain = httpx.get(f"http://127.0.0.1:{http_port}/posts/{SLUG}/", timeout=5)
            assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

            home = client.get(f"{base}/")
            assert home.status_code == 200 and "<html" in home.text.lower()
            assert home.headers["cache-control"] == "no-cache"
            assert "max-age=31536000" in home.headers["strict-transport-security"]
            assert home.headers["x-content-type-options"] == "nosniff"

            css = client.get(f"{base}/theme/css/hubbub.css")
            assert css.status_code == 200 and css.headers["cache-control"] == "max-age=3600"
            assert "strict-transport-security" in css.headers  # server-wide headers are kept

            pre = client.get(f"{base}/posts/{SLUG}/", headers={"Accept-Encoding": "gzip"})
            assert pre.headers.get("content-encoding") == "gzip" and pre.text == "<p>precompressed copy</p>"
            raw = client.get(f"{base}/posts/{SLUG}/", headers={"Accept-Encoding": "identity"})
            assert "precompressed copy" not in raw.text and SLUG in raw.text

            for private in ("/.hubbub/manifest.json", "/.git/config", "/posts/.hidden"):
                assert client.get(f"{base}{private}").status_code == 404, private
            missing = client.get(f"{base}/no-such-page/")
            assert missing.status_code == 404 and "<html" in missing.text.lower()  # the site's 404 page

            health = client.get(f"{base}/api/health")
            assert health.status_code == 200 and health.json()["status"] in ("ok", "degraded")
            posted = client.post(f"{base}/api/threads/{SLUG}/comments",
                                 json={"author": "Via Nginx", "email": "n@example.org", "body": "through the proxy"})
            assert posted.status_code == 202, posted.text
            if "moderate" in app.blueprints:
                assert client.get(f"{base}/moderate/login").status_code == 200
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(10)
        server.shutdown()
    hub = app.extensions["hubbub"]
    with hub.sessions() as s:
        stored = s.get(Comment, posted.json()["id"])
        assert stored.body == "through the proxy" and stored.remote_addr == "127.0.0.1"
    logged = (tmp_path / "hubbub.access.log").read_text()
    assert f"/api/threads/{SLUG}/comments" in logged and "127.0.0.1" not in logged  # no reader's address


# The service under load -----------------------------------------------------------------------

def service_env_for(site: Path, tmp: Path, database_url: str, akismet_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBBUB_", "PYTHON_AKISMET_"))}
    env.update({
        "HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": database_url,
        "HUBBUB_INSTANCE_DIR": str(tmp / "instance"), "HUBBUB_SECRET_KEY": "load-test",
        "HUBBUB_RATE_LIMIT": "100000/minute", "PYTHON_AKISMET_API_KEY": "test-key",
        "PYTHON_AKISMET_BLOG_URL": "http://127.0.0.1:8000/", "HUBBUB_AKISMET_ENDPOINT": akismet_url,
        "HUBBUB_AKISMET_TIMEOUT": "5", "PYTHONUNBUFFERED": "1", **extra,
    })
    return env


def start_gunicorn(env: dict, log: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "comments_service:create_app()"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: proc.poll() is not None or answers(f"{base}/api/health"), 60, "gunicorn", log)
    assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    """Quick shutdown (SIGINT): the proofs are already made, no need to wait for graceful exits."""
    stop_group(proc, signal.SIGINT, grace=30)


def post_concurrently(base: str, total: int = 200, threads: int = 8) -> tuple[dict, list]:
    """`threads` clients each post their share; returns {body: id} of 202 answers and other answers."""
    accepted: dict[str, int] = {}
    others: list = []
    lock = threading.Lock()

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=20) as http:
            for i in range(k, total, threads):
                body = f"Load comment number {i}, from client {k}."
                try:
                    r = http.post(f"/api/threads/{SLUG}/comments", headers={"User-Agent": f"load/{k}"},
                                  json={"author": f"Reader {i}", "email": f"reader{i}@example.org", "body": body})
                except httpx.HTTPError as exc:
                    with lock:
                        others.append((body, repr(exc)))
                    continue
                with lock:
                    if r.status_code == 202:
                        accepted[body] = r.json()["id"]
                    else:
                        others.append((body, r.status_code, r.text[:200]))

    pool = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert not any(t.is_alive() for t in pool), "clients did not finish within 2 minutes"
    return accepted, others


def rows(database_url: str, sql: str) -> list:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def prove_nothing_lost_and_checked_once(database_url: str, akismet, accepted: dict, others: list, log: Path):
    assert others == [], f"answers other than 202: {others[:5]}"
    assert len(accepted) == 200

    def all_checked():
        pending = rows(database_url, "SELECT COUNT(*) FROM comments WHERE akismet = 'unchecked'")[0][0]
        jobs = rows(database_url, "SELECT COUNT(*) FROM jobs WHERE kind = 'check'")[0][0]
        return pending == 0 and jobs == 0

    wait_until(all_checked, 120, "every comment to be checked", log)
    stored = {body: (cid, status, verdict, attempts) for cid, body, status, verdict, attempts in rows(
        database_url, "SELECT id, body, status, akismet, check_attempts FROM comments")}
    # Every 202 is a stored comment with that id, and nothing else was stored.
    assert {body: v[0] for body, v in stored.items()} == accepted
    # Each was checked once: one comment-check per comment at Akismet, one verdict, no retry.
    checks = collections.Counter(r.form.get("comment_content") for r in akismet.requests_to("comment-check"))
    assert checks == collections.Counter(dict.fromkeys(accepted, 1))
    assert all(v[1:] == ("pending", "ham", 0) for v in stored.values())


@pytest.mark.slow
def test_four_gunicorn_workers_lose_nothing_and_check_each_comment_once(site_dir, tmp_path, database_url, akismet):
    env = service_env_for(site_dir, tmp_path, database_url, akismet.url)
    log = tmp_path / "gunicorn.log"
    proc, base = start_gunicorn(env, log, workers=4)
    try:
        wait_until(lambda: log.read_text().count("Booting worker") >= 4, 30, "4 workers", log)
        accepted, others = post_concurrently(base)
        prove_nothing_lost_and_checked_once(database_url, akismet, accepted, others, log)
    finally:
        stop(proc)


def _free_redis_db():
    import redis

    for n in range(15, 7, -1):
        client = redis.Redis(host="127.0.0.1", port=6379, db=n)
        if client.dbsize() == 0 and client.set("hubbub-test-claim", 1, nx=True, ex=600):
            return n, client
    pytest.skip("no empty Redis database (8-15) to use")


@pytest.mark.slow
@pytest.mark.skipif(not REDIS_UP, reason="Redis is not answering on 127.0.0.1:6379")
def test_redis_queue_with_two_workers_loses_nothing_and_checks_each_comment_once(site_dir, tmp_path, database_url,
                                                                                  akismet):
    if database_url.startswith("sqlite") and POSTGRES_UP:
        pytest.skip("the Redis topology (several hosts) is proved on PostgreSQL, which is up")
    n, redis_client = _free_redis_db()
    env = service_env_for(site_dir, tmp_path, database_url, akismet.url,
                          HUBBUB_QUEUE_URL=f"redis://127.0.0.1:6379/{n}")
    log = tmp_path / "gunicorn.log"
    workers = []
    proc = None
    try:
        proc, base = start_gunicorn(env, log, workers=2)
        for k in range(2):
            wlog = tmp_path / f"worker{k}.log"
            workers.append((subprocess.Popen([sys.executable, "-m", "hubbub", "worker"], cwd=ROOT, env=env,
                                             stdout=wlog.open("w"), stderr=subprocess.STDOUT, start_new_session=True),
                            wlog))
        for w, wlog in workers:
            wait_until(lambda w=w, wlog=wlog: w.poll() is not None or "Worker " in wlog.read_text(), 30,
                       "hubbub worker", wlog)
            assert w.poll() is None, wlog.read_text()[-3000:]
        accepted, others = post_concurrently(base)
        prove_nothing_lost_and_checked_once(database_url, akismet, accepted, others, tmp_path / "worker0.log")
        # The work went through the queue and was shared: both workers ran jobs.
        ran = [wlog.read_text().count("rq_run") for _w, wlog in workers]
        assert all(count > 0 for count in ran), ran
    finally:
        for w, _wlog in workers:
            stop(w)
        if proc is not None:
            stop(proc)
        redis_client.flushdb()
