"""The identity-theft flag end to end (issue 17): a person places it; every lender that looks them up is warned in
its answer; the person is alerted of each lookup at once, by the fastest channel they have, once per lookup (a
retried lookup is the same one), besides the copy letter; lifting it stops both."""

from __future__ import annotations

from gjeld.consent.v1 import consent_service_pb2
from gjeld.lookup.v1 import lookup_pb2
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld_shared.sandbox import sandbox_person
from gjeld_tools.testing import PERSON, Registry, eventually, grant, look_up, report_demo

BUREAU = "933444550"
# The registry's promise: an alert reaches the person this soon after the lookup (relay and delivery each poll at
# their interval, 0.1 s in tests; the rest is rendering and the channel).
ALERT_WINDOW_SECONDS = 5.0


async def notices(registry: Registry) -> list[notify_pb2.Notice]:
    subject = registry.as_subject(PERSON)
    listed = await registry.notify().ListOwnNotices(
        notify_service_pb2.ListOwnNoticesRequest(page_size=100), metadata=subject
    )
    return list(listed.notices)


def alerts(found: list[notify_pb2.Notice]) -> list[notify_pb2.Notice]:
    return [n for n in found if n.HasField("identity_theft_alert")]


async def test_a_flag_warns_every_lender_and_alerts_the_person_at_once_per_lookup_until_lifted(
    registry: Registry,
) -> None:
    await report_demo(registry)
    await grant(registry, max_uses=5)
    subject = registry.as_subject(PERSON)
    place = consent_service_pb2.PlaceIdentityTheftFlagRequest()
    await registry.consent().PlaceIdentityTheftFlag(place, metadata=subject)

    first = await look_up(registry, reference="app-1", request_id="flagged-1")
    # The lender is warned, and the lookup goes on (softer than a credit block).
    assert first.identity_theft_flag and len(first.debts) == 3 and not first.credit_blocked
    retried = await look_up(registry, reference="app-1", request_id="flagged-1")
    assert retried.identity_theft_flag and retried.disclosure.id == first.disclosure.id
    second = await look_up(registry, reference="app-1")  # the same application: its letter may merge, its alert not
    bureau = await look_up(registry, lender=BUREAU, purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU)
    assert second.identity_theft_flag and bureau.identity_theft_flag
    looked_up = {first.disclosure.id, second.disclosure.id, bureau.disclosure.id}

    async def alerted() -> list[notify_pb2.Notice]:
        found = alerts(await notices(registry))
        delivered = [n for n in found if n.state == notify_pb2.NOTICE_STATE_DELIVERED]
        return delivered if len(delivered) == len(looked_up) else []

    sent = await eventually(alerted)
    # Once per lookup: the retry brought none, and each alert names its lookup and who made it.
    assert sorted(a.identity_theft_alert.disclosure_id for a in sent) == sorted(looked_up)
    assert {a.identity_theft_alert.recipient.name for a in sent} == {"Nordlys Kreditt AS", "Kredittopplysning Norge AS"}
    contact = sandbox_person(PERSON)
    assert contact is not None
    # The fastest channel the person has: a text message (the sandbox person has a mobile and a digital mailbox, where
    # their copy letters go).
    assert contact.mobile and contact.digital_mailbox
    fastest = notify_pb2.CHANNEL_SMS
    for alert in sent:
        assert alert.channel == fastest
        taken = alert.deliver_time.ToDatetime() - alert.identity_theft_alert.disclose_time.ToDatetime()
        assert taken.total_seconds() <= ALERT_WINDOW_SECONDS
    # Besides the copy letters (the bureau's lookup included: the person asked to hear of every lookup).
    letters = [n for n in await notices(registry) if n.HasField("copy_letter")]
    assert {n.channel for n in letters if n.channel} <= {notify_pb2.CHANNEL_DIGITAL_MAILBOX}
    told = {n.copy_letter.recipient.name for n in letters}
    assert told == {"Nordlys Kreditt AS", "Kredittopplysning Norge AS"}
    assert all(n.copy_letter.identity_theft_flag for n in letters)

    await registry.consent().LiftIdentityTheftFlag(consent_service_pb2.LiftIdentityTheftFlagRequest(), metadata=subject)
    after = await look_up(registry, reference="app-2")
    assert not after.identity_theft_flag

    async def lettered() -> list[notify_pb2.Notice]:
        letters = [n for n in await notices(registry) if n.HasField("copy_letter")]
        delivered = all(n.state == notify_pb2.NOTICE_STATE_DELIVERED for n in letters)
        return letters if delivered and any(after.disclosure.id in n.source_ids for n in letters) else []

    letters = await eventually(lettered)
    # DOM-13: each copy letter holds what its lookup was told, the flag's warning included, and only while it stood.

    def text(notice: notify_pb2.Notice) -> str:
        return next(registry.mailbox.glob(f"digital_mailbox/*/{notice.id}.txt")).read_text()

    warned = {n.id: "varselet ditt om ID-tyveri" in text(n) for n in letters}  # the person reads Norwegian
    assert warned == {n.id: after.disclosure.id not in n.source_ids for n in letters}
    assert len(alerts(await notices(registry))) == len(looked_up)  # no alert for the lookup after the lift
