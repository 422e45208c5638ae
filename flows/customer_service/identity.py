"""Who sent a message, as far as its channel vouches for it: the flow's one identity model.

What a message *says* proves nothing: anyone can type a customer's e-mail address, order
number or name into a message. A write or any disclosure of account data needs an identity
the channel verified:

- e-mail: the ``From`` address the mail gateway delivered, unless the gateway reported
  that the message failed authentication (``Authentication-Results``: ``dmarc=fail``, or
  ``spf``/``dkim`` failing with nothing passing). `Settings.cs_email_require_dmarc_pass`
  also refuses a message without a DMARC pass.
- chat and api: the sender as the relaying integration signed them in
  (``Sender.verified is True``, an authenticated session). A chat sender's e-mail
  address is otherwise only a claim.
- knowledge (first name, last name and zip code in the message, in any order; or an e-mail
  address typed in the message together with that account's name or zip code): only on
  the channels listed in `Settings.cs_knowledge_auth_channels` (none by default), because
  anyone who knows a customer's name and zip code (or address and name) passes it.

The channel's identity, once verified, is the identity: an account the message names
(a typed address, a name and zip code) is never acted on; if it is another customer's
account the message goes to a person (`identity_conflict`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

from flows.customer_service.state import Sender

__all__ = [
    "Auth",
    "AuthMethod",
    "AuthProblem",
    "channel_method",
    "email_verdict",
    "knowledge_allowed",
    "verified_address",
]

AuthMethod = Literal["sender_email", "chat_session", "knowledge_name_zip", "knowledge_email"]
AuthProblem = Literal["unauthenticated", "unverified_sender", "identity_conflict"]


class Auth(BaseModel):
    """How the customer was identified (`method`) or why not (`problem`), as `CSState.auth`."""

    method: AuthMethod | None = None
    problem: AuthProblem | None = None
    channel_verified: bool = Field(
        default=False, description="the channel vouches for the sender's address"
    )
    knowledge_allowed: bool = Field(
        default=False, description="name and zip code may identify a customer on this channel"
    )
    candidates: list[str] = Field(
        default_factory=list, description="the accounts in conflict (for staff, never replied)"
    )


def verified_address(
    channel: str, sender: Sender, *, require_dmarc_pass: bool = False
) -> str | None:
    """The sender address the channel vouches for, or None.

    E-mail: the delivered ``From`` counts unless the gateway said it failed
    (``verified is False``); with `require_dmarc_pass`, only a reported pass counts.
    Chat and api: only a sender the integration marked verified (a signed-in session).
    """
    if not sender.email:
        return None
    if channel == "email":
        if sender.verified is False or (require_dmarc_pass and sender.verified is not True):
            return None
        return sender.email
    return sender.email if sender.verified is True else None


def channel_method(channel: str) -> AuthMethod:
    return "sender_email" if channel == "email" else "chat_session"


def knowledge_allowed(channel: str, channels: Iterable[str]) -> bool:
    return channel in set(channels)


_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"(?<![\w.-])(dmarc|spf|dkim)\s*=\s*([a-z]+)", re.IGNORECASE)


def _results(header: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"dmarc": set(), "spf": set(), "dkim": set()}
    for method, result in _RESULT.findall(_COMMENT.sub(" ", header)):
        found[method.lower()].add(result.lower())
    return found


def email_verdict(headers: list[str]) -> bool | None:
    """What the mail gateway's ``Authentication-Results`` headers (topmost first) say of the
    ``From``: False when it failed, True when DMARC passed, None when they do not tell.

    A failure counts in any header (a sender gains nothing by adding one); a pass only in
    the topmost, the one the receiving gateway added (RFC 8601: it removes headers that
    claim its name; the ones below may be the sender's own).
    """
    parsed = [_results(h) for h in headers]
    if not parsed:
        return None
    top = parsed[0]
    if any("fail" in r["dmarc"] for r in parsed):
        return False
    failed = any("fail" in (r["spf"] | r["dkim"]) for r in parsed)
    passed = "pass" in (top["spf"] | top["dkim"] | top["dmarc"])
    if failed and not passed:
        return False
    return True if "pass" in top["dmarc"] else None
