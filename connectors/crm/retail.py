"""The retail half of the mocked CRM: customers, orders and catalogue under the store's policy.

A mixin of `MockCRMConnector`; it expects ``self.engine`` and ``self.session()`` (from
`SqlConnectorMixin`). The policy's rules live in `_retail_orders`; this module turns
requests into those calls, logs each change in the customer's history, and returns records.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, case, func
from sqlmodel import Session, col, select

from connectors.base import Done, Irreversible, Undo, action
from connectors.crm import _retail_changes as changes
from connectors.crm import _retail_orders as rules
from connectors.crm import _retail_tasks as tasks
from connectors.crm._retail_changes import RestoreCustomerAddress, RestoreOrder
from connectors.crm._retail_export import export
from connectors.crm._retail_records import (
    activity_record,
    address_of,
    customer_record,
    load_customer,
    load_order,
    load_product,
    load_task,
    order_records,
    product_record,
    task_record,
)
from connectors.crm._retail_seed import name_zip_key, seed_retail_if_empty
from connectors.crm._retail_tables import (
    RETAIL_TABLES,
    CrmActivity,
    CrmCustomer,
    CrmOrder,
    CrmProduct,
    CrmTask,
    CrmVariant,
)
from connectors.errors import NotFound
from connectors.schemas import (
    CancelOrder,
    CatalogueProduct,
    CatalogueProductRef,
    CatalogueProductSummary,
    CatalogueSearch,
    Customer,
    CustomerActivity,
    CustomerActivityCreate,
    CustomerActivitySearch,
    CustomerOrders,
    CustomerRef,
    ExchangeItems,
    FindCustomerByEmail,
    FindCustomerByNameZip,
    ModifyOrderAddress,
    ModifyOrderItems,
    ModifyOrderPayment,
    Order,
    OrderRef,
    ReturnItems,
    Task,
    TaskClose,
    TaskCreate,
    TaskRef,
    TaskSearch,
    UpdateCustomerAddress,
)

__all__ = ["RestoreCustomerAddress", "RestoreOrder", "RetailActions"]


def _restore_order(done: Done[Any, Order]) -> RestoreOrder:
    return RestoreOrder(
        order_id=done.result.id, change_key=done.idempotency_key, reason=done.reason
    )


def _restore_customer(done: Done[UpdateCustomerAddress, Customer]) -> RestoreCustomerAddress:
    return RestoreCustomerAddress(
        customer_id=done.result.id, change_key=done.idempotency_key, reason=done.reason
    )


def _delete_task(done: Done[TaskCreate, Task]) -> TaskRef:
    return TaskRef(task_id=done.result.id)


#: Every change to an order is undone by restoring the order from the CRM's history.
_RESTORE_ORDER = Undo("restore_order", _restore_order)


class RetailActions:
    """Retail reads and policy-checked writes of the mocked CRM."""

    if TYPE_CHECKING:
        engine: Engine

        def session(self) -> AbstractContextManager[Session]: ...

    def _retail_tables(self) -> list[Any]:
        return [*RETAIL_TABLES, *changes.CHANGE_TABLES]

    def _seed_retail(self, seed: Path) -> None:
        """Load ``users.json``, ``orders.json`` and ``products.json`` (tau-bench's retail
        format) from the seed folder while the CRM has no customers."""
        seed_retail_if_empty(self.engine, seed)

    # Reads

    @action()
    async def find_customer_by_email(self, request: FindCustomerByEmail) -> Customer:
        """Authenticate a customer by e-mail address (case does not matter)."""
        with self.session() as session:
            row = session.exec(
                select(CrmCustomer).where(CrmCustomer.email_key == request.email.strip().lower())
            ).first()
            if row is None:
                raise NotFound("no customer has this e-mail address", code="unknown_customer")
            return customer_record(session, row)

    @action()
    async def find_customer_by_name_zip(self, request: FindCustomerByNameZip) -> Customer:
        """Authenticate a customer by first name, last name and zip code, all three exact."""
        key = name_zip_key(request.first_name, request.last_name, request.zip)
        with self.session() as session:
            rows = session.exec(select(CrmCustomer).where(CrmCustomer.name_zip_key == key)).all()
            if len(rows) != 1:
                raise NotFound(
                    "no customer has this name and zip code"
                    if not rows
                    else "several customers have this name and zip code; ask for the e-mail",
                    code="unknown_customer" if not rows else "ambiguous_customer",
                )
            return customer_record(session, rows[0])

    @action()
    async def get_customer(self, request: CustomerRef) -> Customer:
        """A customer's profile: default address, payment methods, order ids."""
        with self.session() as session:
            return customer_record(session, load_customer(session, request.customer_id))

    @action()
    async def get_order(self, request: OrderRef) -> Order:
        """One order with its items, fulfilments (tracking), payments and status."""
        with self.session() as session:
            return order_records(session, [load_order(session, request.order_id)])[0]

    @action()
    async def list_customer_orders(self, request: CustomerOrders) -> list[Order]:
        """A customer's orders in the order the customer placed them."""
        with self.session() as session:
            load_customer(session, request.customer_id)
            query = select(CrmOrder).where(CrmOrder.customer_id == request.customer_id)
            if request.statuses is not None:
                query = query.where(col(CrmOrder.status).in_(request.statuses))
            rows = session.exec(query.order_by(col(CrmOrder.position))).all()
            return order_records(session, rows)

    @action()
    async def get_catalogue_product(self, request: CatalogueProductRef) -> CatalogueProduct:
        """A product with all its variants (options, price, availability)."""
        with self.session() as session:
            return product_record(session, load_product(session, request.product_id))

    @action()
    async def list_catalogue_products(
        self, request: CatalogueSearch
    ) -> list[CatalogueProductSummary]:
        """The product types in the catalogue, by name."""
        with self.session() as session:
            available = func.sum(case((col(CrmVariant.available), 1), else_=0))
            query = (
                select(CrmProduct.id, CrmProduct.name, func.count(), available)
                .join(CrmVariant, col(CrmVariant.product_id) == col(CrmProduct.id))
                .group_by(col(CrmProduct.id), col(CrmProduct.name))
                .order_by(col(CrmProduct.name), col(CrmProduct.id))
            )
            if request.name:
                query = query.where(col(CrmProduct.name).icontains(request.name.strip()))
            return [
                CatalogueProductSummary(
                    id=pid, name=name, variant_count=count, available_count=int(avail or 0)
                )
                for pid, name, count, avail in session.exec(query).all()
            ]

    @action()
    async def get_task(self, request: TaskRef) -> Task:
        """One CRM task."""
        with self.session() as session:
            return task_record(load_task(session, request.task_id))

    @action()
    async def list_tasks(self, request: TaskSearch) -> list[Task]:
        """Tasks about a record, by status or due time; soonest due first."""
        with self.session() as session:
            return [task_record(row) for row in tasks.find_tasks(session, request)]

    @action()
    async def list_customer_activities(
        self, request: CustomerActivitySearch
    ) -> list[CustomerActivity]:
        """A customer's history (messages, order and account changes), newest first."""
        with self.session() as session:
            load_customer(session, request.customer_id)
            query = select(CrmActivity).where(CrmActivity.customer_id == request.customer_id)
            if request.order_id is not None:
                query = query.where(CrmActivity.order_id == request.order_id)
            query = query.order_by(col(CrmActivity.occurred_at).desc(), col(CrmActivity.id))
            return [activity_record(r) for r in session.exec(query.limit(request.limit)).all()]

    # Writes

    def _order_changed(
        self,
        session: Session,
        order: CrmOrder,
        subject: str,
        body: str,
        change: tuple[str, str, dict[str, Any]] | None = None,
    ) -> Order:
        """Log the change in the customer's history and, given ``(key, action, state
        before)``, in the CRM's change history (to restore the order from)."""
        if change is not None:
            key, action_name, before = change
            after = changes.order_state(session, order)
            changes.record(session, key, action_name, order, before, after)
        tasks.log(
            session,
            CustomerActivityCreate(
                customer_id=order.customer_id,
                kind="order_change",
                subject=subject,
                body=body,
                order_id=order.id,
            ),
        )
        return order_records(session, [order])[0]

    @action(side_effect=True, undo=_RESTORE_ORDER)
    async def cancel_order(self, request: CancelOrder, *, idempotency_key: str) -> Order:
        """Cancel a pending order and refund its payments to their methods."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            before = changes.order_state(session, order)
            refunds = rules.cancel(session, order, request.reason)
            body = "; ".join(f"refund {rules.money(a)} to {m}" for m, a in refunds.items())
            subject = f"Order {order.id} cancelled ({request.reason})"
            return self._order_changed(
                session,
                order,
                subject,
                body or "nothing to refund",
                (idempotency_key, "cancel_order", before),
            )

    @action(side_effect=True, undo=_RESTORE_ORDER)
    async def modify_order_address(
        self, request: ModifyOrderAddress, *, idempotency_key: str
    ) -> Order:
        """Change a pending order's shipping address."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            before = changes.order_state(session, order)
            old = rules.modify_address(session, order, request.address)
            return self._order_changed(
                session,
                order,
                f"Order {order.id}: shipping address changed",
                f"from {old.one_line()} to {request.address.one_line()}",
                (idempotency_key, "modify_order_address", before),
            )

    @action(side_effect=True, undo=_RESTORE_ORDER)
    async def modify_order_items(self, request: ModifyOrderItems, *, idempotency_key: str) -> Order:
        """Swap items of a pending order for other options of the same products (once)."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            before = changes.order_state(session, order)
            difference = rules.modify_items(session, order, request)
            return self._order_changed(
                session,
                order,
                f"Order {order.id}: items modified",
                f"{', '.join(request.item_ids)} -> {', '.join(request.new_item_ids)}; "
                f"price difference {rules.money(difference)} via {request.payment_method_id}",
                (idempotency_key, "modify_order_items", before),
            )

    @action(side_effect=True, undo=_RESTORE_ORDER)
    async def modify_order_payment(
        self, request: ModifyOrderPayment, *, idempotency_key: str
    ) -> Order:
        """Pay a pending order with another of the customer's payment methods."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            before = changes.order_state(session, order)
            amount = rules.modify_payment(session, order, request.payment_method_id)
            return self._order_changed(
                session,
                order,
                f"Order {order.id}: payment method changed",
                f"{rules.money(amount)} now paid with {request.payment_method_id}",
                (idempotency_key, "modify_order_payment", before),
            )

    @action(side_effect=True, undo=_RESTORE_ORDER)
    async def return_items(self, request: ReturnItems, *, idempotency_key: str) -> Order:
        """Request the return of delivered items, refunded to the original method or a gift card."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            before = changes.order_state(session, order)
            rules.return_items(session, order, request)
            return self._order_changed(
                session,
                order,
                f"Order {order.id}: return requested",
                f"items {', '.join(request.item_ids)}; refund to {request.payment_method_id}",
                (idempotency_key, "return_items", before),
            )

    @action(side_effect=True, undo=_RESTORE_ORDER)
    async def exchange_items(self, request: ExchangeItems, *, idempotency_key: str) -> Order:
        """Request an exchange of delivered items for other options of the same products."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            before = changes.order_state(session, order)
            difference = rules.exchange_items(session, order, request)
            return self._order_changed(
                session,
                order,
                f"Order {order.id}: exchange requested",
                f"{', '.join(request.item_ids)} -> {', '.join(request.new_item_ids)}; "
                f"price difference {rules.money(difference)} via {request.payment_method_id}",
                (idempotency_key, "exchange_items", before),
            )

    @action(
        side_effect=True,
        undo=Irreversible("a restored order is changed again with a new request"),
    )
    async def restore_order(self, request: RestoreOrder, *, idempotency_key: str) -> Order:
        """Put an order back as it was before a change (status, address, items, payments
        and refunds, gift-card balances), unless it changed since: the compensation of
        cancelling, modifying, returning and exchanging."""
        with self.session() as session:
            order = load_order(session, request.order_id)
            undone, moved = changes.restore_order(session, order, request.change_key)
            cards = "; ".join(f"{card} {amount}" for card, amount in moved.items())
            return self._order_changed(
                session,
                order,
                f"Order {order.id}: {undone} undone, order restored",
                "; ".join(p for p in (request.reason, cards and f"gift cards: {cards}") if p)
                or "restored",
            )

    @action(side_effect=True, undo=Undo("restore_customer_address", _restore_customer))
    async def update_customer_address(
        self, request: UpdateCustomerAddress, *, idempotency_key: str
    ) -> Customer:
        """Change a customer's default address."""
        with self.session() as session:
            customer = load_customer(session, request.customer_id)
            old = address_of(customer)
            before = changes.customer_state(customer)
            rules.set_address(customer, request.address)
            session.add(customer)
            rules.flush(session)
            changes.record(
                session,
                idempotency_key,
                "update_customer_address",
                customer,
                before,
                changes.customer_state(customer),
            )
            tasks.log(
                session,
                CustomerActivityCreate(
                    customer_id=customer.id,
                    kind="account_change",
                    subject="Default address changed",
                    body=f"from {old.one_line()} to {request.address.one_line()}",
                ),
            )
            return customer_record(session, customer)

    @action(
        side_effect=True,
        undo=Irreversible("a restored address is changed again with a new request"),
    )
    async def restore_customer_address(
        self, request: RestoreCustomerAddress, *, idempotency_key: str
    ) -> Customer:
        """Put a customer's default address back as it was before a change, unless it changed
        since: the compensation of update_customer_address."""
        with self.session() as session:
            customer = load_customer(session, request.customer_id)
            changes.restore_customer(session, customer, request.change_key)
            tasks.log(
                session,
                CustomerActivityCreate(
                    customer_id=customer.id,
                    kind="account_change",
                    subject="Default address change undone",
                    body=f"back to {address_of(customer).one_line()}"
                    + (f"; {request.reason}" if request.reason else ""),
                ),
            )
            return customer_record(session, customer)

    @action(side_effect=True, undo=Undo("delete_task", _delete_task))
    async def create_task(self, request: TaskCreate, *, idempotency_key: str) -> Task:
        """Create a task with a due time about a customer, an order, a deal or a ticket."""
        with self.session() as session:
            return task_record(tasks.create_task(session, request))

    @action(side_effect=True, undo=Irreversible("a deleted task is gone; create a new task"))
    async def delete_task(self, request: TaskRef, *, idempotency_key: str) -> Task:
        """Delete a task that was not done (the compensation of create_task); returns it as
        it was."""
        with self.session() as session:
            row = load_task(session, request.task_id)
            return task_record(tasks.delete_task(session, row))

    @action(side_effect=True, undo=Irreversible("a done task stays done; create a new task"))
    async def complete_task(self, request: TaskClose, *, idempotency_key: str) -> Task:
        """Mark an open task done."""
        with self.session() as session:
            row = load_task(session, request.task_id)
            return task_record(tasks.close_task(session, row, "done", request.note))

    @action(
        side_effect=True, undo=Irreversible("a cancelled task stays cancelled; create a new task")
    )
    async def cancel_task(self, request: TaskClose, *, idempotency_key: str) -> Task:
        """Cancel an open task (the compensation of create_task)."""
        with self.session() as session:
            row = load_task(session, request.task_id)
            return task_record(tasks.close_task(session, row, "cancelled", request.note))

    @action(side_effect=True, undo=Irreversible("a customer's history is append-only"))
    async def log_customer_activity(
        self, request: CustomerActivityCreate, *, idempotency_key: str
    ) -> CustomerActivity:
        """Add an entry to a customer's history (a message sent, a call, a note)."""
        with self.session() as session:
            load_customer(session, request.customer_id)
            return activity_record(tasks.log(session, request))

    def export_retail(self) -> dict[str, Any]:
        """The retail data as tau-bench's ``users`` and ``orders`` (plain JSON), to compare end
        states: two CRMs that took the same actions export the same."""
        with Session(self.engine) as session:
            return export(session)

    def _count(self, session: Session, model: Any) -> int:
        return session.exec(select(func.count()).select_from(model)).one()

    def retail_counts(self) -> dict[str, int]:
        """How much retail data the CRM holds (zero customers: the seed was not loaded)."""
        with Session(self.engine) as session:
            return {
                "customers": self._count(session, CrmCustomer),
                "orders": self._count(session, CrmOrder),
                "products": self._count(session, CrmProduct),
                "open_tasks": session.exec(
                    select(func.count()).select_from(CrmTask).where(CrmTask.status == "open")
                ).one(),
            }
