"""The benchmark's language-model customer (benchmarks/_cs_customer.py), against the local
OpenAI-compatible server: it sees the instruction, the profile and the agent's messages,
never the task's expected actions, and it ends the conversation with ###STOP###."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from fake_openai_server import FakeOpenAIServer, Reply
from langchain_openai import ChatOpenAI

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _cs_customer import LLMCustomer, Profile, Question

INSTRUCTION = (
    "You are Ava Nguyen. You want to cancel the skateboard you ordered because you no "
    "longer need it."
)
PROFILE = Profile(
    first_name="Ava",
    last_name="Nguyen",
    zip="94128",
    email="ava.nguyen2868@example.com",
    addresses=("144 Elm Street, San Francisco, CA",),
    payment_methods=(("credit_card_1", "credit_card", "visa credit card ending 9212"),),
)


def _customer(server: FakeOpenAIServer) -> LLMCustomer:
    llm = ChatOpenAI(
        model="fake-model",
        base_url=server.base_url,
        api_key="test-key",  # type: ignore[arg-type]
        temperature=0,
        timeout=5,
        max_retries=0,
        # langchain-openai shares one default client per process; it would outlive the
        # event loop of the test that made it.
        http_async_client=httpx.AsyncClient(),
    )
    return LLMCustomer(INSTRUCTION, PROFILE, llm)


async def test_it_answers_from_the_instruction_and_profile_and_keeps_the_conversation(
    openai_server: FakeOpenAIServer,
) -> None:
    customer = _customer(openai_server)
    openai_server.reply(
        Reply.text("The skateboard one, please. My zip code is 94128."),
        Reply.text("Yes, please go ahead."),
    )
    first = await customer.answer(Question(reply="Which order do you mean?", outcome="clarify"))
    assert first == "The skateboard one, please. My zip code is 94128."
    second = await customer.answer(
        Question(reply="Shall I cancel order #W1242543 (Skateboard)?", outcome="confirm")
    )
    assert second == "Yes, please go ahead."

    asked, answered = openai_server.requests
    [system] = asked.message("system")
    assert INSTRUCTION in system and "94128" in system and "ending 9212" in system
    assert asked.message("user") == ["Which order do you mean?"]
    # The second request carries the whole conversation so far, in order.
    roles = [(m["role"], m["content"]) for m in answered.messages]
    assert roles[1:] == [
        ("user", "Which order do you mean?"),
        ("assistant", "The skateboard one, please. My zip code is 94128."),
        ("user", "Shall I cancel order #W1242543 (Skateboard)?"),
    ]


async def test_stop_or_an_empty_answer_ends_the_conversation(
    openai_server: FakeOpenAIServer,
) -> None:
    customer = _customer(openai_server)
    openai_server.reply(Reply.text("Thanks, that's all. ###STOP###"), Reply.text(""))
    done = Question(reply="Your order #W1242543 is cancelled.", outcome="done")
    assert await customer.answer(done) is None
    assert await customer.answer(done) is None
