"""ingest's use cases: register a delivery of changes, read back, serve one subject's debts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gjeld_shared.errors import AlreadyExists
from gjeld_shared.identity_numbers import SubjectKeys
from sqlalchemy.ext.asyncio import AsyncEngine

from .adapters import DebtRegister, Delivery, StoredDebt, registered_debt
from .domain import Debt, DebtKey, RegisteredDebt


@dataclass(frozen=True)
class DebtPage:
    debts: list[RegisteredDebt]
    last_key: tuple[str, bytes] | None


class Ingest:
    def __init__(self, engine: AsyncEngine, keys: SubjectKeys) -> None:
        self._engine = engine
        self._keys = keys

    async def report_changes(
        self, creditor: str, request_id: str, content: bytes, registrations: Sequence[Debt], closures: Sequence[DebtKey]
    ) -> Delivery:
        """Apply one validated delivery all or nothing, once per request id (AIP-155)."""
        digest = self._keys.digest(content)
        rows = [StoredDebt(d, self._keys.blind_index(d.debtor), self._keys.encrypt(d.debtor)) for d in registrations]
        closing = [(k.account_id, self._keys.blind_index(k.debtor)) for k in closures]
        async with self._engine.begin() as connection:
            register = DebtRegister(connection)
            delivery, new = await register.claim_delivery(creditor, request_id, digest)
            if not new:
                if delivery.content_digest != digest:
                    raise AlreadyExists(
                        "REQUEST_ID_REUSED",
                        "this request id was used before for a delivery with other content",
                        {"request_id": request_id},
                    )
                return delivery
            await register.register(creditor, rows)
            closed = await register.close(creditor, closing)
            return await register.finish_delivery(delivery, len(rows), closed, len(closing) - closed)

    async def debts_of_creditor(self, creditor: str, after: tuple[str, bytes] | None, limit: int) -> DebtPage:
        async with self._engine.connect() as connection:
            rows = await DebtRegister(connection).of_creditor(creditor, after, limit + 1)
        page = rows[:limit]
        debts = [registered_debt(row, self._keys.decrypt(row.debtor_encrypted)) for row in page]
        last = (page[-1].account_id, page[-1].debtor_index) if len(rows) > limit else None
        return DebtPage(debts, last)

    async def debts_of_subject(self, subject: str) -> list[RegisteredDebt]:
        async with self._engine.connect() as connection:
            return await DebtRegister(connection).of_subject(self._keys.blind_index(subject))
