"""Gunicorn settings for the Hubbub comment service.

    gunicorn -c deploy/gunicorn.conf.py 'comments_service:create_app()'

Every value can be changed without editing this file, through the environment (the systemd
unit reads /etc/hubbub/hubbub.env): HUBBUB_BIND, HUBBUB_WORKERS, HUBBUB_THREADS,
HUBBUB_TIMEOUT, HUBBUB_FORWARDED_ALLOW_IPS. Options given on the gunicorn command line win.
"""

import os

# nginx talks to gunicorn on loopback; the service is never exposed directly.
bind = os.environ.get("HUBBUB_BIND", "127.0.0.1:8001")

# Four processes by default. Each runs the app's background job thread unless HUBBUB_QUEUE_URL
# sends jobs to `hubbub worker`; the database lease makes sure every job still runs once.
workers = int(os.environ.get("HUBBUB_WORKERS", "4"))
worker_class = "gthread"
threads = int(os.environ.get("HUBBUB_THREADS", "4"))

# Never load the app before forking: every worker must open its own database connections and
# start its own job thread (neither survives a fork).
preload_app = False

# A comment is accepted in milliseconds; anything slower than this is stuck, not busy.
timeout = int(os.environ.get("HUBBUB_TIMEOUT", "30"))
graceful_timeout = 30  # finish what is in flight on restart (jobs are durable anyway)
keepalive = 5  # nginx keeps upstream connections open (see hubbub.conf)

# Recycle workers now and then, staggered, so a slow leak never becomes an outage.
max_requests = 2000
max_requests_jitter = 200

# Trust X-Forwarded-* only from nginx on this host. The service's own client-address logic uses
# HUBBUB_TRUSTED_PROXIES (set it to 127.0.0.1 too): this setting covers gunicorn's logs and scheme.
forwarded_allow_ips = os.environ.get("HUBBUB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs to stdout/stderr: systemd's journal keeps them (journalctl -u hubbub).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("HUBBUB_LOG_LEVEL", "info")
# No client address in the log: addresses are personal data, kept only with the comment.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(D)sus'
proc_name = "hubbub"
