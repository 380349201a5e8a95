"""Min gjeld over real HTTP, logged in through the development ID-porten, in front of the four real services."""

from __future__ import annotations

import httpx
from gjeld_tools.testing import PERSON, MinGjeld, report_demo


async def test_a_person_logs_in_and_sees_their_debt_with_creditor_names(min_gjeld: MinGjeld) -> None:
    await report_demo(min_gjeld.registry)
    async with httpx.AsyncClient() as browser:
        page = await min_gjeld.log_in(browser, PERSON)
        assert page.status_code == 200, page.text
        print(page.text)
        assert str(page.url) == f"{min_gjeld.url}/gjeld"
        assert "Fjordbanken" in page.text
