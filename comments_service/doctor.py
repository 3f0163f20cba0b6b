"""The comment service's part of `hubbub doctor`: settings, secret key, database, the published
threads against the database, Akismet, mail, queue.

Nothing here writes: no secret key is generated, no database created or migrated, no mail sent.
"""

from __future__ import annotations

from pathlib import Path

from hubbub.doctor import Finding, fail, ok, warn

from .config import Config, ConfigError, load_config, shown_url

MIN_SECRET_LENGTH = 32
NEW_SECRET = "python -c 'import secrets; print(secrets.token_hex(32))'"


def _secret(config: Config, env) -> Finding:
    if env.get("HUBBUB_SECRET_KEY"):
        if len(env["HUBBUB_SECRET_KEY"]) < MIN_SECRET_LENGTH:
            return fail("secret key", f"HUBBUB_SECRET_KEY has {len(env['HUBBUB_SECRET_KEY'])} characters: "
                        "too short to protect sessions and unsubscribe links",
                        f"set it to at least {MIN_SECRET_LENGTH} random characters: {NEW_SECRET}")
        return ok("secret key", "HUBBUB_SECRET_KEY is set")
    path = config.instance_dir / "secret_key"
    if config.secret_key:
        if config.queue_url:
            return warn("secret key", f"generated and kept in {path}; workers on other hosts would each make their own",
                        f"set the same HUBBUB_SECRET_KEY on every host: {NEW_SECRET}")
        return ok("secret key", f"generated and kept in {path}")
    return warn("secret key", f"not set: the service will generate one into {path} when it first starts",
                f"in production, set HUBBUB_SECRET_KEY: {NEW_SECRET}")


def _database(config: Config) -> Finding:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from .db import known_revision, schema_revisions

    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return warn("database", f"{url.database} does not exist yet",
                    "it is made when the service first starts (`hubbub serve`), or now with `hubbub migrate`")
    engine = create_engine(config.database_url, connect_args={"connect_timeout": 5}
                           if url.get_backend_name() == "postgresql" else {})
    try:
        current, head = schema_revisions(engine)
        known = current is None or known_revision(engine, current)
    except SQLAlchemyError as exc:
        return fail("database", f"cannot open {shown_url(config.database_url)}: {getattr(exc, 'orig', None) or exc}",
                    "check HUBBUB_DATABASE_URL, and that the database server is running and lets this user in")
    finally:
        engine.dispose()
    if current == head:
        return ok("database", f"{shown_url(config.database_url)} is at the newest schema ({head})")
    if current is None:
        return fail("database", f"{shown_url(config.database_url)} has no Hubbub tables",
                    "run `hubbub migrate` (the service also does it when it starts)")
    if not known:
        return fail("database", f"the database is at schema {current}, which this Hubbub does not know: a newer "
                    "Hubbub migrated it", "upgrade Hubbub to the version that migrated it (pip install -U hubbub)")
    return fail("database", f"the database is at schema {current}; this Hubbub needs {head}",
                "back it up (`hubbub backup` or pg_dump), then run `hubbub migrate` and restart the service")


def _threads(config: Config, database: Finding) -> Finding | None:
    """Thread files whose published comments the database does not have: the service would wait
    to publish those threads (comments_service.publish.foreign_comments), and a build stops on a
    thread file it cannot read."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from hubbub.core.publisher import comments_dir_for
    from hubbub.core.threadfile import ThreadFileError, read_thread, thread_slugs
    from hubbub.core.words import count

    from .publish import foreign_comments

    comments_dir = comments_dir_for(config.site_dir, config.output_dir)
    threads = []
    for slug in thread_slugs(comments_dir):
        try:
            threads.append(read_thread(comments_dir, slug))
        except ThreadFileError as exc:
            return fail("threads", str(exc), "fix the file, or remove it and publish the thread again from the "
                        "database (approve a comment of it); `hubbub build` stops on it until then")
    published = sum(len(t.comments) for t in threads)
    if not published:
        return None
    fix = ("import them from the database that published them (`hubbub export FILE` there, "
           "`hubbub import hubbub FILE` here), or check HUBBUB_DATABASE_URL")
    if database.status != "ok":
        if "does not exist yet" in database.message:
            return warn("threads", f"{comments_dir} holds {count(published, 'published comment')}, and there is no "
                        "database yet: publishing waits until the database has them", fix)
        return None
    from hubbub.core.identity import salt_path, site_salt

    salt = site_salt(config.site_dir) if salt_path(config.site_dir).exists() else None  # only reads it
    engine = create_engine(config.database_url)
    try:
        with Session(engine) as session:
            foreign = {t.slug: foreign_comments(session, t.slug, t.comments, salt) for t in threads}
    finally:
        engine.dispose()
    foreign = {slug: found for slug, found in foreign.items() if found}
    if not foreign:
        return ok("threads", f"the database has every published comment of {count(len(threads), 'thread file')}")
    total = sum(len(found) for found in foreign.values())
    return fail("threads", f"{count(total, 'published comment')} in {count(len(foreign), 'thread file')} "
                f"({', '.join(sorted(foreign)[:5])}) {'is' if total == 1 else 'are'} not in the database "
                f"{shown_url(config.database_url)}: publishing those threads waits, or it would take them off the site",
                fix)


def _akismet(config: Config) -> Finding:
    from .spam.akismet import AkismetService, AkismetUnavailable

    if not config.akismet_enabled:
        return warn("akismet", "off: no spam check, every comment waits for a moderator",
                    "set PYTHON_AKISMET_API_KEY and PYTHON_AKISMET_BLOG_URL (a key from akismet.com)")
    service = AkismetService(config.akismet_key, config.akismet_blog_url, config.akismet_endpoint,
                             config.akismet_timeout)
    try:
        accepted = service.verify()
    except AkismetUnavailable as exc:
        return fail("akismet", f"{config.akismet_endpoint}: {exc}",
                    "check the network, proxy and HUBBUB_AKISMET_ENDPOINT; comments wait unchecked meanwhile")
    if not accepted:
        return fail("akismet", f"Akismet rejects the key for {config.akismet_blog_url}",
                    "check PYTHON_AKISMET_API_KEY, and that PYTHON_AKISMET_BLOG_URL is the site the key is for")
    return ok("akismet", f"the key is valid for {config.akismet_blog_url}")


def _smtp(config: Config) -> Finding:
    import smtplib
    import ssl

    if not config.smtp_host:
        return ok("mail", "off: no emails (set HUBBUB_SMTP_HOST to notify moderators and commenters)")
    where = f"{config.smtp_host}:{config.smtp_port}"
    try:
        tls = ssl.create_default_context()
        if config.smtp_port == 465:
            smtp = smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout, context=tls)
        else:
            smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout)
        with smtp:
            if config.smtp_starttls and config.smtp_port != 465:
                smtp.starttls(context=tls)
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password or "")
            smtp.noop()
    except smtplib.SMTPAuthenticationError as exc:
        return fail("mail", f"{where} refuses the login of {config.smtp_user}: {exc.smtp_error!r}",
                    "check HUBBUB_SMTP_USER and HUBBUB_SMTP_PASSWORD")
    except (smtplib.SMTPException, OSError) as exc:
        return fail("mail", f"cannot talk to {where}: {exc}",
                    "check HUBBUB_SMTP_HOST, _PORT and _STARTTLS, and that the mail server accepts this host")
    return ok("mail", f"{where} accepts connections" + (" and the login" if config.smtp_user else ""))


def _queue(config: Config) -> Finding | None:
    if not config.queue_url:
        return None
    import redis

    try:
        redis.Redis.from_url(config.queue_url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as exc:
        return fail("queue", f"Redis at {shown_url(config.queue_url)} does not answer: {exc}",
                    "start Redis, or correct HUBBUB_QUEUE_URL (unset it to run jobs in the service)")
    return ok("queue", f"Redis at {shown_url(config.queue_url)} answers; run `hubbub worker` for the jobs")


def service_findings(env) -> list[Finding]:
    try:
        config = load_config(dict(env), create_secret_key=False)
    except ConfigError as exc:
        return [fail("service settings", str(exc), "correct that environment variable")]
    database = _database(config)
    threads = _threads(config, database)
    found = [ok("service settings", "the comment service's environment variables are valid"),
             _secret(config, env), database] + ([threads] if threads else []) + [_akismet(config), _smtp(config)]
    queue = _queue(config)
    return found + ([queue] if queue else [])
