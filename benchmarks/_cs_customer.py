"""A simulated customer for the tau conversation benchmark.

It knows what a real customer knows and nothing more: the task's instruction (what they want,
in their words) and their own profile (name, zip code, e-mail, addresses, payment methods).
It never sees the task's gold actions or outputs, nor the CRM beyond that profile: it is
built from exactly those two things (`RuleCustomer(instruction, profile)`), and the only
other thing it reads is our reply (`Question`).

Rule-based offline: it reads what the reply asks (the decision's structured question: which
order, which item, which option, which reason, which payment method, a yes to a proposal, the
customer's identity) and answers from the instruction's words. `LLMCustomer` writes the
answers with a chat model instead, as tau-bench's simulated user does.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Customer",
    "LLMCustomer",
    "Profile",
    "Question",
    "RuleCustomer",
    "first_person",
]

# -- the instruction, as the customer would say it --------------------------------------------

_PERSONA = re.compile(r"^You are (?:[a-z]+(?:,\s*|\s+and\s+|\s*))+\.$")
_DICT = re.compile(r"\{[^{}]*\}")
_PRONOUNS = [
    (r"\bYour\b", "My"),
    (r"\byour\b", "my"),
    (r"\byours\b", "mine"),
    (r"\bYou've\b", "I've"),
    (r"\byou've\b", "I've"),
    (r"\bYou'd\b", "I'd"),
    (r"\byou'd\b", "I'd"),
    (r"\bYou're\b", "I'm"),
    (r"\byou're\b", "I'm"),
    (r"\bYou'll\b", "I'll"),
    (r"\byou'll\b", "I'll"),
    (r"\bYou are\b", "I am"),
    (r"\byou are\b", "I am"),
    (r"\byourself\b", "myself"),
    (r"(^|[.!?]\s+|\b(?:and|but|so|that|if|because|when|as|since|or)\s+)you\b", r"\1I"),
    (r"\bYou\b", "I"),
    (r"\byou\b", "me"),
]
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
#: Sentences that script the customer's behaviour in the conversation rather than state
#: the request: said only when the reply gives the occasion.
_CONDITIONAL = re.compile(
    r"^(?:if (?:the |customer service )?(?:agent|they|he|she|it) (?:asks?|wants?) "
    r"(?:for |about |you )?"
    r"(?P<topic>[^,]+),\s*|(?:but )?before (?:confirming|you confirm|the agent confirms)[,]?\s*)"
    r"(?P<then>.+)$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "a an the and or of to for in on at by with my me i it is be this that you your from "
    "order item items want would like get one some as but so not do don't"
)
_STOP = frozenset(_STOP_WORDS.split())
#: Words after which the customer's final choice comes ("eventually decide on brown").
_FINAL = re.compile(
    r"\b(?:eventually|in the end|finally|instead|decide[sd]? (?:on|to)|change (?:my|your) mind)\b",
    re.IGNORECASE,
)
_SOURCES = {
    "paypal": re.compile(r"\bpay ?pal\b", re.IGNORECASE),
    "gift_card": re.compile(r"\bgift ?card\b|\bGC\b|\bwebsite credit\b|\bstore credit\b", re.I),
    "credit_card": re.compile(r"\b(?:credit|debit) ?card\b|\bvisa\b|\bmastercard\b", re.I),
}


def _words_of_dict(match: re.Match[str]) -> str:
    try:
        data = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return match.group(0)
    if not isinstance(data, dict):
        return match.group(0)
    if "address1" in data:
        street = ", ".join(str(data[k]) for k in ("address1", "address2") if data.get(k))
        return (
            f"{street}, {data.get('city')}, {data.get('state')} {data.get('zip')}, "
            f"{data.get('country', 'USA')}"
        )
    if not data:  # tau's "to {}": a new item with the same options
        return "a new one with the same options"
    return "(" + ", ".join(f"{k} {v}" for k, v in data.items() if k != "order_id") + ")"


def first_person(instruction: str) -> list[str]:
    """The instruction's sentences as the customer says them: persona dropped, option dicts
    in words, "you" turned into "I"."""
    text = _DICT.sub(_words_of_dict, instruction)
    kept = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if not _PERSONA.match(s)]
    text = " ".join(kept)
    for pattern, replacement in _PRONOUNS:
        text = re.sub(pattern, replacement, text)
    return [s for s in _SENTENCE.split(text) if s.strip()]


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in _STOP}


# -- what the customer knows and what they are asked ------------------------------------------


@dataclass(frozen=True)
class Profile:
    """The customer's own account details, as they know them; no orders."""

    first_name: str
    last_name: str
    zip: str
    email: str
    addresses: tuple[str, ...] = ()
    #: (id, source, words a customer uses for it: "paypal", "mastercard ending 9212")
    payment_methods: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def from_user(cls, user: dict[str, Any]) -> Profile:
        """From a users.json record; its order list is deliberately not read."""
        address = user.get("address") or {}
        street = ", ".join(str(address[k]) for k in ("address1", "address2") if address.get(k))
        methods = []
        for method in (user.get("payment_methods") or {}).values():
            words = method["source"].replace("_", " ")
            if method.get("brand"):
                words = f"{method['brand']} {words} ending {method.get('last_four', '')}".strip()
            methods.append((method["id"], method["source"], words))
        return cls(
            first_name=user["name"]["first_name"],
            last_name=user["name"]["last_name"],
            zip=str(address.get("zip", "")),
            email=user.get("email", ""),
            addresses=(f"{street}, {address.get('city')}, {address.get('state')}",),
            payment_methods=tuple(methods),
        )


@dataclass(frozen=True)
class Question:
    """Our reply as the customer reads it: the text and, per request, what it asks."""

    reply: str
    outcome: str | None = None
    reason: str | None = None
    requests: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_output(cls, output: dict[str, Any]) -> Question:
        decision = output.get("decision") or {}
        return cls(
            reply=output.get("reply") or "",
            outcome=decision.get("outcome"),
            reason=decision.get("reason"),
            requests=tuple(decision.get("requests") or ()),
        )

    @property
    def asks_identity(self) -> bool:
        return self.reason in ("unauthenticated", "unverified_sender") and bool(
            re.search(r"\bzip code\b", self.reply)
        )

    @property
    def asks(self) -> bool:
        """Whether the reply waits for the customer: a question, a proposal, or who they are."""
        return self.outcome in ("clarify", "confirm") or self.asks_identity


class Customer(Protocol):
    async def answer(self, question: Question) -> str | None:
        """The customer's next message, or None when they have nothing to add."""


# -- the rule-based customer ------------------------------------------------------------------


@dataclass
class RuleCustomer:
    instruction: str
    profile: Profile
    _said: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        sentences = first_person(self.instruction)
        self._conditions = [m for s in sentences if (m := _CONDITIONAL.match(s.strip()))]
        self._request = " ".join(s for s in sentences if not _CONDITIONAL.match(s.strip()))
        tail = _FINAL.split(self._request)
        #: What the customer finally wants weighs more than what they considered first.
        self._final = _words(tail[-1]) if len(tail) > 1 else set()
        self._known = _words(self._request)

    async def answer(self, question: Question) -> str | None:
        if question.asks_identity:
            return self._identity()
        parts = []
        for request in question.requests:
            if request.get("outcome") == "clarify":
                parts.append(self._clarify(request))
            elif request.get("outcome") == "confirm":
                parts.append(self._confirm(request, question))
        said = [p for p in parts if p]
        if not said:
            return None
        # a yes first, so the reply reads as the confirmation it is
        said.sort(key=lambda p: not p.startswith("Yes"))
        text = " ".join(dict.fromkeys(said))
        if text in self._said and not text.startswith("Yes"):  # they said all they can
            return None
        self._said.add(text)
        return text

    def _identity(self) -> str:
        p = self.profile
        return f"My name is {p.first_name} {p.last_name} and my zip code is {p.zip}."

    def _score(self, text: str) -> float:
        words = _words(text)
        return len(words & self._known) + 0.5 * len(words & self._final)

    def _best(self, choices: list[str]) -> str | None:
        """The choice the instruction's words point at; None when none or a tie."""
        scored = sorted(((self._score(c), c) for c in choices), reverse=True)
        if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return None
        return scored[0][1]

    def _clarify(self, request: dict[str, Any]) -> str:
        details = request.get("details") or {}
        if candidates := details.get("candidates"):
            named = [c for c in candidates if c.split()[0] in self._request]
            best = named[0] if len(named) == 1 else self._best(list(candidates))
            if best:
                return f"I mean order {best.split()[0]}."
        if items := details.get("items"):
            best = self._best(list(items))
            if best:
                return f"I mean the {best}."
        if options := details.get("options"):
            texts = [", ".join(f"{k} {v}" for k, v in o.items()) for o in options]
            best = self._best(texts)
            if best:
                return f"I would like the one with {best}."
            said = self._about(str(details.get("item") or ""))
            if said:  # none of the listed ones stands out: say again what they want
                return f"What I want is this: {said}"
        if reasons := details.get("reasons"):
            best = self._best(list(reasons)) or reasons[0]
            return f"The reason is: {best}."
        reason = str(request.get("reason") or "")
        if "payment" in reason or "refund" in reason or "balance" in reason:
            return self._payment()
        return ""

    def _about(self, item: str) -> str:
        """The instruction's sentences about an item (by the last word of its name)."""
        head = item.lower().split()[-1:] if item else []
        if not head:
            return ""
        stem = head[0].rstrip("s")
        return " ".join(s for s in first_person(self._request) if stem in s.lower())

    def _payment(self) -> str:
        for source, pattern in _SOURCES.items():
            if pattern.search(self._request):
                own = [m for m in self.profile.payment_methods if m[1] == source]
                if len(own) == 1:
                    return f"Please use my {own[0][2]} ({own[0][0]})."
        return "Please use the original payment method."

    def _confirm(self, request: dict[str, Any], question: Question) -> str:
        for condition in self._conditions:
            then = condition.group("then")
            topic = condition.group("topic") or "confirmation"
            if then in self._said or not _topic_asked(topic, request, question):
                continue
            self._said.add(then)
            return then[0].upper() + then[1:]
        wrong = self._inconsistent(request)
        if wrong:
            return f"No, that is not what I asked for: {wrong}. {self._request}"
        return "Yes, please go ahead."

    def _inconsistent(self, request: dict[str, Any]) -> str | None:
        """Why a proposal does not fit the instruction, or None when it does."""
        mine = set(re.findall(r"#W\d{7}", self._request))
        for summary in request.get("proposed") or []:
            for order_id in re.findall(r"#W\d{7}", summary):
                if mine and order_id not in mine:
                    return f"I did not ask about order {order_id}"
            for source, pattern in _SOURCES.items():
                named = [s for s, p in _SOURCES.items() if p.search(self._request)]
                proposed = pattern.search(summary) or source in summary
                if proposed and named and source not in named:
                    return f"I do not want to use {source.replace('_', ' ')}"
        return None


def _topic_asked(topic: str, request: dict[str, Any], question: Question) -> bool:
    topic = topic.lower()
    if "confirm" in topic:
        return request.get("outcome") == "confirm"
    if "payment" in topic or "refund" in topic:
        return bool(re.search(r"\b(?:payment|refund|pay)\b", question.reply, re.IGNORECASE))
    return bool(_words(topic) & _words(question.reply))


# -- the language-model customer (tau-bench's user simulator) ---------------------------------

_SYSTEM = """You are a customer writing to an online shop's customer service. You want what \
the instruction below says; do not invent other requests. Answer the agent's last message \
in one short message, in the first person. Give only information the instruction or your \
profile contains. When the agent proposes something that matches what you want, say yes; \
when it does not, say what is wrong. When your request is done or nothing more can be done, \
write only ###STOP###.

Instruction: {instruction}

Your profile: {profile}"""


class LLMCustomer:
    """Answers with a chat model, from the same two things as `RuleCustomer`."""

    def __init__(self, instruction: str, profile: Profile, llm: Any) -> None:
        self._system = _SYSTEM.format(
            instruction=instruction,
            profile=(
                f"{profile.first_name} {profile.last_name}, zip {profile.zip}, "
                f"e-mail {profile.email}, address {'; '.join(profile.addresses)}, payment "
                f"methods {'; '.join(f'{m[2]} ({m[0]})' for m in profile.payment_methods)}"
            ),
        )
        self._llm = llm
        self._history: list[tuple[str, str]] = []

    async def answer(self, question: Question) -> str | None:
        self._history.append(("user", question.reply))
        messages = [("system", self._system), *self._history]
        reply = await self._llm.ainvoke(messages)
        text = str(reply.content).strip()
        self._history.append(("assistant", text))
        return None if not text or "###STOP###" in text else text
