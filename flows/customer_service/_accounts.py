"""Looking a customer up in the CRM from what a message claims (claims.py), for the
`identify_customer` node. Read-only; whether a claim may identify anyone at all is
identity.py's rule, applied by the node."""

from __future__ import annotations

from typing import Any

from connectors.errors import NotFound
from connectors.schemas import Customer, FindCustomerByEmail, FindCustomerByNameZip
from flows.customer_service import identity
from flows.customer_service.entities import MessageEntities

__all__ = ["by_knowledge", "lookup", "name_zip", "named_accounts", "said_here"]


async def lookup(crm: Any, call: str, request: Any) -> Customer | None:
    try:
        return await getattr(crm, call)(request)  # type: ignore[no-any-return]
    except NotFound:
        return None


def name_zip(entities: MessageEntities) -> FindCustomerByNameZip | None:
    if not (entities.first_name and entities.last_name and entities.zip):
        return None
    return FindCustomerByNameZip(
        first_name=entities.first_name, last_name=entities.last_name, zip=entities.zip
    )


def _lower(*values: str) -> tuple[str, ...]:
    return tuple(v.strip().lower() for v in values)


async def named_accounts(crm: Any, entities: MessageEntities, customer: Customer) -> list[str]:
    """Other customers' accounts the message names (a typed address, a name and zip code)."""
    found: set[str] = set()
    for email in sorted({e.strip().lower() for e in entities.emails}):
        if email != customer.email.lower():
            other = await lookup(crm, "find_customer_by_email", FindCustomerByEmail(email=email))
            found |= {other.id} if other else set()
    request = name_zip(entities)
    own = (customer.first_name, customer.last_name, customer.address.zip)
    if request and _lower(request.first_name, request.last_name, request.zip) != _lower(*own):
        other = await lookup(crm, "find_customer_by_name_zip", request)
        found |= {other.id} if other else set()
    return sorted(found - {customer.id})


def said_here(entities: MessageEntities, text: str) -> MessageEntities:
    """The identity claims of `entities` that this message itself makes (in a thread, the
    request answered is part of the text, and its details are not this sender's)."""
    return entities.model_copy(
        update={
            "zip": entities.zip if entities.zip and entities.zip in text else None,
            "emails": [e for e in entities.emails if e in text.lower()],
        }
    )


async def by_knowledge(
    crm: Any, entities: MessageEntities
) -> tuple[Customer | None, identity.AuthMethod | None]:
    """The customer whose details the message gives: name and zip code (the name tried both
    ways round, since "Lee Anna" and "Anna Lee" are both written), or a typed e-mail address
    together with that account's name or zip code. Claims the CRM does not confirm find no
    one."""
    request = name_zip(entities)
    if request:
        written = (request.first_name, request.last_name)
        for first, last in dict.fromkeys([written, written[::-1]]):
            found = await lookup(
                crm,
                "find_customer_by_name_zip",
                FindCustomerByNameZip(first_name=first, last_name=last, zip=request.zip),
            )
            if found:
                return found, "knowledge_name_zip"
    names = {(entities.first_name or "").lower(), (entities.last_name or "").lower()}
    for email in entities.emails[:3]:
        found = await lookup(crm, "find_customer_by_email", FindCustomerByEmail(email=email))
        if found is None:
            continue
        if {found.first_name.lower(), found.last_name.lower()} == names or (
            entities.zip == found.address.zip
        ):
            return found, "knowledge_email"
    return None, None
