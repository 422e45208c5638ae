"""Reading a message in: files to input, the run's idempotency key, and input problems.

Problems found here (too long, empty, another language, instructions aimed at the system)
are recorded in the state and each sends the message to a person; none of them fails the
run, so every message ends with a ticket and a holding reply.
"""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rapidfuzz.distance import OSA

from bpa.documents import DocumentStore
from flows.customer_service.entities import order_ids_in
from flows.customer_service.identity import email_verdict
from flows.customer_service.state import CustomerMessage, Sender

__all__ = [
    "canonical_order_numbers",
    "detect_language",
    "load_input",
    "own_words",
    "problems_of",
    "read_text",
    "run_key",
]

#: Below this many letters a language guess is noise ("ok", "yes thanks").
_MIN_LETTERS_FOR_LANGUAGE = 25
_LANGUAGE_CONFIDENCE = 0.9
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+|of\s+your\s+)*"
    r"(previous\s+|prior\s+|above\s+|earlier\s+|system\s+)?(instructions|rules|policy|polic(y|ies)"
    r"|guidelines|prompt)"
    r"|\bsystem\s+prompt\b|\bdeveloper\s+mode\b|\byou\s+are\s+now\s+(an?\s+)?\w+"
    r"|\bact\s+as\s+(an?\s+)?(admin|administrator|supervisor|manager|ai|assistant)\b"
    r"|\brefund\s+(everything|all\s+(orders|customers|accounts))\b"
    # a note addressed to the software that reads the message, or asked to be kept from the
    # reply: "[Note for the automated assistant ...]", "do not mention this note"
    r"|\b(note|message|instructions?)\s+(for|to)\s+(the\s+)?(automated|ai|llm|bot|virtual)\b"
    r"|\bdo\s+not\s+(mention|reveal|disclose)\s+(this|these)\s+(note|instructions?|message)\b"
    r"|\b(suspended|disabled|waived|lifted)\s+(the\s+)?(usual\s+)?(checks|verification|policy)\b"
    # a block dressed as our own system's words: "=== BEGIN SYSTEM MESSAGE ===", "Agent
    # policy updated: ...", "Do not ask the customer for confirmation", "Reply only with"
    r"|\b(begin|end)\s+(of\s+)?(system|admin|internal)\s+(message|note|instructions?)\b"
    r"|\b(agent|assistant|bot|support)\s+(policy|rules|instructions)\s+(updated|changed|overridden)\b"
    r"|\bdo\s+not\s+ask\s+(the\s+)?(customer|user|me)\s+(for|to)\s+(confirm\w*|verif\w*)"
    r"|\breply\s+only\s+with\b",
    re.IGNORECASE,
)
#: Someone writing for another person: "I'm sorting things out for my dad, Noah Nguyen",
#: "on behalf of my mother". Only the account holder may have their account changed.
_FOR_SOMEONE_ELSE = re.compile(
    r"\b(?:on\s+behalf\s+of|(?:sorting|handling|taking\s+care\s+of|doing)\s+(?:things|this|it|"
    r"everything)\s+(?:out\s+)?for|writing\s+for|asking\s+for|helping)\s+(?:my|our)\s+"
    r"(?:dad|father|mum|mom|mother|parents?|husband|wife|partner|son|daughter|brother|sister|"
    r"friend|grand(?:ma|pa|mother|father|parents?)|uncle|aunt|neighbou?r|boss|colleague|client)\b"
    r"|\b(?:can|could|would)\s+you\s+(?:please\s+)?do\s+(?:that|this|it)\s+for\s+(?:him|her|them)\b",
    re.IGNORECASE,
)
#: One message id of a References header: "<local@domain>", at most the RFC's line length.
_RFC_IDS = re.compile(r"<[^<>\s]{1,996}>")
_NOISE = re.compile(r"#W\d{7}|[\w.+-]+@[\w-]+(\.[\w-]+)+|\b\w*\d\w*\b|https?://\S+")


def run_key(data: dict[str, Any]) -> str:
    """The same message delivered twice is one run: keyed by its message id, or else by a
    hash of what it says and who sent it."""
    message = CustomerMessage.model_validate(data)
    if message.message_id and message.message_id.strip():
        return f"customer_service:msg:{message.message_id.strip()}"
    digest = hashlib.sha256()
    parts = [
        message.channel,
        message.sender.email or "",
        message.sender.name or "",
        message.subject,
        message.body,
    ]
    if message.sender.verified is not None:  # a stranger's copy is not the customer's message
        parts.append(f"verified={message.sender.verified}")
    if message.session_id:  # "yes" in two chats, or twice in one, are different messages
        parts += [f"session={message.session_id}", f"at={message.received_at or ''}"]
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return f"customer_service:sha256:{digest.hexdigest()}"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        parser = _Text()
        parser.feed(content)
        content = " ".join(parser.parts)
    return str(content)


def message_from_eml(raw: bytes) -> CustomerMessage:
    """An e-mail as the gateway delivered it. Its ``Authentication-Results`` say whether the
    ``From`` can be trusted (`identity.email_verdict`): a failed one is not an identity."""
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    results = [str(h) for h in mail.get_all("Authentication-Results") or []]
    senders = getaddresses([str(mail.get("From", ""))])
    name, address = senders[0] if senders else ("", "")
    try:
        received = parsedate_to_datetime(str(mail["Date"])) if mail["Date"] else None
    except (TypeError, ValueError):
        received = None
    return CustomerMessage(
        channel="email",
        subject=str(mail.get("Subject", "")),
        body=_body(mail),
        sender=Sender(email=address or None, name=name or None, verified=email_verdict(results)),
        received_at=received,
        message_id=str(mail["Message-ID"]).strip() if mail["Message-ID"] else None,
        in_reply_to=str(mail["In-Reply-To"]).strip() if mail["In-Reply-To"] else None,
        references=_RFC_IDS.findall(str(mail.get("References", "")))[-50:],
    )


def load_input(path: Path, documents: DocumentStore) -> dict[str, Any]:
    """`bpa run customer_service --input FILE`: a JSON `CustomerMessage` or an .eml file."""
    if path.suffix.lower() == ".eml":
        return message_from_eml(path.read_bytes()).model_dump(mode="json")
    return CustomerMessage.model_validate_json(path.read_bytes()).model_dump(mode="json")


#: Where a reply's quoted history starts: "On Mon, 3 Aug 2026, Ann <a@b.c> wrote:" (possibly
#: wrapped over two lines), Outlook's "-----Original Message-----" or its "From: ... Sent:"
#: block, a forwarded message's banner.
_HISTORY = re.compile(
    r"^[ \t]*(on\s(?=[^\n]{0,200}\d)[^\n]{0,200}(\n[^\n]{0,200})?\swrote:[ \t]*$"
    r"|-{2,}\s*(original|forwarded)\s+message\s*-{2,}"
    r"|_{10,}[ \t]*$"
    r"|from:[^\n]*\n(sent|date):)",
    re.IGNORECASE | re.MULTILINE,
)
#: "Re:", "AW:", "Fwd:", ... in the languages mail clients write them.
_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|vs|antw|ref|fw|fwd|wg|tr|rv)\s*(\[\d+\])?\s*:", re.I)
#: A quoted line of an earlier message ("> Please cancel ...").
_QUOTED = re.compile(r"^[ \t]*>.*(\n|$)", re.MULTILINE)


#: Order numbers as customers type them: "#w5875596", "W5875596", "order 5861600", "order
#: no. 5861600", seven digits right after what is to be done to them ("cancel 5861600")
#: (the store's numbers are "#W" and seven digits).
_LOOSE_ORDER = re.compile(
    r"(?<![\w#])#?\s?[Ww]\s?(\d{7})\b"
    r"|(?<=\border\s)(?:(?:no\.?|nr\.?|number|#)\s?)?(\d{7})\b"
    r"|\b(?:cancel|return|exchange|modify|track|ship|change)\s+#?(\d{7})(?![\d-])",
    re.IGNORECASE,
)


def _canonical(m: re.Match[str]) -> str:
    number = m.group(1) or m.group(2) or m.group(3)
    if not m.group(3):
        return f"#W{number}"
    return m.group(0)[: m.start(3) - m.start()].rstrip("#") + f"#W{number}"


def canonical_order_numbers(text: str) -> str:
    """The text with order numbers written the store's way ("#W5875596"), and the words
    that say what is to be done spelt right ("cancle" is "cancel", see `_respelt`)."""
    return _WORD.sub(_respelt, _LOOSE_ORDER.sub(_canonical, text))


#: The words a request turns on, which a typo must not hide: "pls cancle my pendng order,
#: i orderd it by mistak".
_KEY_WORDS = [
    "cancel",
    "cancelled",
    "return",
    "returned",
    "exchange",
    "refund",
    "refunded",
    "mistake",
    "address",
    "pending",
    "ordered",
    "delivered",
    "received",
    "replace",
    "modify",
    "shipped",
    "package",
    "damaged",
    "broken",
]
#: Real words one keystroke from a key word, and a key word's own forms.
_NOT_TYPOS = frozenset(
    [
        "cancer",
        "canceled",
        "cancels",
        "returns",
        "refunds",
        "exchanged",
        "exchanges",
        "mistakes",
        "mistaken",
        "addresses",
        "addressed",
        "orderer",
        "receiver",
        "receives",
        "replaced",
        "replaces",
        "modified",
        "shipper",
        "packages",
        "packaged",
        "rerun",
        "broke",
        "broker",
        "brokers",
        "damages",
        "spending",
        "sending",
        "bending",
        "lending",
        "tending",
        "mending",
        "vending",
        "skipped",
        "whipped",
        "chipped",
        "shopped",
        "slipped",
        "snipped",
        "flipped",
    ]
)
#: A word on its own, not part of an e-mail address, a web address or an id.
_WORD = re.compile(r"(?<![\w@./_-])[A-Za-z]{5,12}(?![\w@/_-]|\.\w)")


def _respelt(m: re.Match[str]) -> str:
    word = m.group(0)
    lower = word.casefold()
    if lower in _NOT_TYPOS or lower in _KEY_WORDS:
        return word
    close = [
        k
        for k in _KEY_WORDS
        if abs(len(k) - len(lower)) <= 1
        and OSA.distance(k, lower) == 1
        # another form of the word, not a typo: "receive" / "received", "damages"
        and not (k[:-1] == lower and k[-1] in "ds")
        and not (lower[:-1] == k and lower[-1] in "dsr")
    ]
    if len(close) != 1:
        return word
    return close[0].capitalize() if word[0].isupper() else close[0]


def own_words(body: str) -> str:
    """What the sender wrote in this message: a reply's quoted lines and the history below
    "On ... wrote:" are an earlier message, not a request made now. A message that is all
    quotation (a bare forward) is kept whole."""
    history = _HISTORY.search(body)
    own = body[: history.start()] if history else body
    own = _QUOTED.sub("", own)
    own = _DEVICE_FOOTER.sub("", own).strip()
    return own or body


#: A mail program's footer: "Sent from my phone", "Sent from my iPhone", "Get Outlook for
#: Android" (its words name no product: "phone" is no pair of Headphones).
_DEVICE_FOOTER = re.compile(
    r"^[ \t]*(?:sent\s+from\s+my\s+[^\n]{1,40}|sent\s+from\s+(?:outlook|mail|yahoo\s+mail|"
    r"gmail)[^\n]{0,30}|get\s+outlook\s+for\s+\w+|von\s+meinem\s+[^\n]{1,30}\s+gesendet|"
    r"envoy[ée]\s+de\s+mon\s+[^\n]{1,30}|enviado\s+desde\s+mi\s+[^\n]{1,30})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def read_text(subject: str, body: str) -> str:
    """The message as one text: the subject (when the body does not repeat it) and the
    sender's own words. A reply's subject ("Re: Cancel order #W1234567") is the earlier
    message's, so of it only the order numbers it names are kept, as context."""
    subject = canonical_order_numbers(subject.strip())
    body = canonical_order_numbers(own_words(body.strip()))
    if _REPLY_SUBJECT.match(subject) and body:
        subject = " ".join(["Re:", *order_ids_in(subject)]) if order_ids_in(subject) else ""
    if subject and not body.lower().startswith(subject.lower()):
        return f"{subject}\n\n{body}".strip()
    return body


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """ISO 639-1 code and probability, or (None, 0) when the text is too short to tell."""
    cleaned = _NOISE.sub(" ", text)
    if sum(c.isalpha() for c in cleaned) < _MIN_LETTERS_FOR_LANGUAGE:
        return None, 0.0
    language, probability = _identifier().classify(cleaned[:5000])
    return str(language), float(probability)


def problems_of(text: str, max_chars: int) -> tuple[list[str], str | None]:
    """Input problems (codes) and the language, for a message already read as text."""
    if len(text) > max_chars:
        return ["message_too_long"], None
    if not text.strip():
        return ["empty_message"], None
    problems = ["suspicious_instructions"] if _INJECTION.search(text) else []
    if _FOR_SOMEONE_ELSE.search(text):
        problems.append("someone_else")
    language, probability = detect_language(text)
    if language not in (None, "en") and probability >= _LANGUAGE_CONFIDENCE:
        problems.append("unsupported_language")
    return problems, language
