"""Build an RFC 5322 message and hand it to an SMTP server, sorting failures into the SDK's
errors: passing ones (`Transient`: retry later), permanent refusals (`Rejected`) and bad
credentials (`AuthError`). Blocking `smtplib`, run in a worker thread by the connector.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from pydantic import BaseModel, SecretStr

from connectors.errors import AuthError, ConnectorError, Rejected, Transient
from connectors.schemas import EmailSend

__all__ = ["SmtpSettings", "build_message", "deliver", "probe", "sender_address"]


class SmtpSettings(BaseModel):
    host: str
    port: int
    security: str  # none | starttls | ssl
    username: str | None
    password: SecretStr | None
    timeout_s: float


def build_message(
    request: EmailSend,
    *,
    sender: str,
    message_id: str,
    date: dt.datetime,
    outbox_id: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(request.to)
    if request.cc:
        message["Cc"] = ", ".join(request.cc)
    message["Subject"] = request.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if request.reply_to:
        message["Reply-To"] = request.reply_to
    if request.in_reply_to:
        message["In-Reply-To"] = request.in_reply_to
        message["References"] = request.in_reply_to
    for name, value in sorted(request.headers.items()):
        message[name] = value
    message["X-BPA-Outbox-Id"] = outbox_id
    message.set_content(request.body)
    if request.html_body:
        message.add_alternative(request.html_body, subtype="html")
    return message


def sender_address(address: str, name: str | None) -> str:
    return formataddr((name, address)) if name else address


def _by_code(code: int, text: str, *, refused: str) -> ConnectorError:
    """4xx replies are temporary by definition (RFC 5321 4.2.1); 5xx are final."""
    if 400 <= code < 500:
        return Transient(f"SMTP server said {code} {text}; try again later", code="smtp_busy")
    return Rejected(f"SMTP server refused: {code} {text}", code=refused)


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


def deliver(settings: SmtpSettings, message: EmailMessage) -> dict[str, str]:
    """Send; returns the recipients the server refused while accepting others."""
    try:
        client: smtplib.SMTP
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                client.login(settings.username, password)
            refused = client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(f"SMTP login failed: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        listed = ", ".join(exc.recipients)
        if codes and all(400 <= code < 500 for code in codes):
            raise Transient(
                f"recipients deferred ({listed}); try again later", code="smtp_busy"
            ) from exc
        raise Rejected(
            f"the SMTP server refused every recipient: {listed}",
            code="recipient_refused",
            refused={rcpt: f"{c} {_text(t)}" for rcpt, (c, t) in exc.recipients.items()},
        ) from exc
    except smtplib.SMTPSenderRefused as exc:
        raise _by_code(exc.smtp_code, _text(exc.smtp_error), refused="sender_refused") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise Rejected(
            f"the SMTP server does not support what the config asks: {exc}", code="smtp_config"
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code, _text(exc.smtp_error), refused="message_refused") from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS failed
        raise Transient(
            f"cannot reach the SMTP server {settings.host}:{settings.port}: "
            f"{type(exc).__name__}: {exc}",
            code="smtp_unreachable",
        ) from exc
    return {rcpt: f"{code} {_text(text)}" for rcpt, (code, text) in refused.items()}


def probe(settings: SmtpSettings) -> None:
    """Connect and say NOOP: the cheapest proof that the server is there."""
    try:
        client: smtplib.SMTP
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with client:
            client.noop()
    except (smtplib.SMTPException, OSError) as exc:
        raise Transient(
            f"cannot reach the SMTP server {settings.host}:{settings.port}: {exc}",
            code="smtp_unreachable",
        ) from exc
