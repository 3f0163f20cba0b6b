"""A real local SMTP server (aiosmtpd) for tests: it keeps what arrives and can refuse on demand."""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    raw: bytes = b""  # as it came over the wire

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_body(("plain",)).get_content()


class _Handler:
    def __init__(self, server: SMTPServer):
        self.server = server

    async def handle_DATA(self, smtp_server, session, envelope):
        if self.server.refuse:
            return "451 4.3.0 Try again later"
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg, raw))
        return "250 OK"


class _Controller(Controller):
    def _trigger_server(self):
        # Bound to port 0: learn the real port before the readiness check connects to it.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    """An SMTP server on 127.0.0.1 and a free port; `messages` holds what was delivered."""

    def __init__(self, user: str | None = None, password: str | None = None, tls_cert: tuple | None = None):
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.refuse = False
        self.logins: list[str] = []
        kwargs = {}
        if user:
            kwargs = {"authenticator": self._authenticator(user, password), "auth_require_tls": bool(tls_cert),
                      "auth_required": True}
        if tls_cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls_cert)
            kwargs.update(tls_context=context, require_starttls=True)
        self.controller = _Controller(_Handler(self), hostname="127.0.0.1", port=0, **kwargs)

    def _authenticator(self, user: str, password: str):
        def check(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            if ok:
                self.logins.append(user)
            # handled=False: aiosmtpd answers a failed login with 535 (True would leave the client waiting).
            return AuthResult(success=ok, handled=ok)

        return check

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def env(self, **extra) -> dict:
        return {"HUBBUB_SMTP_HOST": "127.0.0.1", "HUBBUB_SMTP_PORT": str(self.port),
                "HUBBUB_SMTP_FROM": "Hubbub <comments@hub.example>", "HUBBUB_SMTP_TIMEOUT": "5", **extra}

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 made with the openssl command (None when it is missing)."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key
