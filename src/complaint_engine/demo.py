"""A scripted day at an estate, run through the real ComplaintDesk (``python -m complaint_engine demo``).

Every path of the procedure appears once: a referral, an emergency repair with its 10-minute arrival,
a late minor repair, a major complaint escalated and decided, a deferral with a plan, callbacks (one
unreachable owner, one dissatisfied), a CAPA for a recurring problem and an announcement for a
widespread one. Personal data is masked in the printed register unless asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import count
from zoneinfo import ZoneInfo

from complaint_engine.clock import FixedClock
from complaint_engine.desk import ComplaintDesk
from complaint_engine.labels import label
from complaint_engine.model import Actor, AnnouncementChannel, Complaint, Role, Satisfaction
from complaint_engine.policy import Policy

__all__ = ["format_register", "run_scripted_day"]

OFFICE = "A"
RECEPTION = Actor("duty-li", Role.RECEPTION, OFFICE)
MANAGER = Actor("mgr-wang", Role.DEPARTMENT_MANAGER, OFFICE)
TECH = Actor("tech-zhao", Role.TECHNICIAN, OFFICE)
GM = Actor("gm-sun", Role.GENERAL_MANAGER, OFFICE)
CALLBACK = Actor("cs-chen", Role.CALLBACK_OFFICER, OFFICE)


def _ids() -> Iterator[str]:
    for n in count(1):
        yield f"demo-{n:04d}"


def run_scripted_day(day: dt.date = dt.date(2024, 9, 27), policy: Policy | None = None) -> ComplaintDesk:
    """Run the day (a Friday before the National Day week by default) and return the desk."""
    tz = ZoneInfo("Asia/Shanghai")
    clock = FixedClock(dt.datetime.combine(day, dt.time(8, 0), tzinfo=tz))
    ids = _ids()
    desk = ComplaintDesk(policy=policy or Policy.default(), clock=clock, id_factory=lambda: next(ids))

    def later(hh: int, mm: int = 0, days: int = 0) -> dt.datetime:
        return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hh, mm), tzinfo=tz)

    def at(hh: int, mm: int = 0, days: int = 0) -> dt.datetime:
        """Move the desk's clock to that local time and return it."""
        clock.set(later(hh, mm, days))
        return clock.now()

    # 08:05 not ours: the water utility's mains, referred politely
    at(8, 5)
    c = desk.receive(by=RECEPTION, owner="林女士", unit="2-0301", channel="phone", category="municipal",
                     summary="整個街區停水")
    desk.refer(c.id, by=RECEPTION, reason="市政供水管網故障,非管理處職責", referred_to="自來水公司熱線")

    # 08:30 emergency repair: burst pipe; on site in 8 minutes, fixed the same day
    at(8, 30)
    leak = desk.receive(by=RECEPTION, owner="陳先生", unit="3-1201", channel="phone", category="repair",
                        urgency="emergency", summary="廚房水管爆裂")
    desk.register(leak.id, by=RECEPTION)
    desk.dispatch(leak.id, by=RECEPTION, assignee=TECH.id)
    at(8, 38)
    desk.record_arrival(leak.id, by=TECH)
    at(10, 15)
    desk.resolve(leak.id, by=TECH, result="更換破裂水管,恢復供水")
    at(10, 30)
    desk.reply(leak.id, by=RECEPTION, note="電話告知處理結果")

    # 09:10 minor repair: the technician arrives 25 minutes after dispatch (arrival breached)
    at(9, 10)
    lamp = desk.receive(by=RECEPTION, owner="黃先生", unit="5-0702", channel="online", category="repair",
                        summary="樓道燈不亮")
    desk.register(lamp.id, by=RECEPTION)
    desk.dispatch(lamp.id, by=RECEPTION, assignee=TECH.id)
    at(9, 35)
    desk.record_arrival(lamp.id, by=TECH)
    at(9, 50)
    desk.resolve(lamp.id, by=TECH, result="更換燈管")
    desk.reply(lamp.id, by=RECEPTION)

    # 10:00 major complaint: repeated flooding of the car park, escalated to the general manager
    at(10, 0)
    flood = desk.receive(by=RECEPTION, owner="業委會", unit="estate", channel="letter", category="facilities",
                         summary="地下車庫多次水浸", document_number="L-0927-01")
    desk.register(flood.id, by=RECEPTION)
    desk.dispatch(flood.id, by=RECEPTION)
    desk.escalate(flood.id, by=MANAGER, reason="需工程、保安、財務統一協調")
    at(11, 0)
    desk.decide(flood.id, by=GM, decision="工程部牽頭,加裝截水溝,財務部撥款")
    desk.start(flood.id, by=MANAGER)
    desk.flag(flood.id, by=MANAGER, needs_capa=True)
    desk.defer(flood.id, by=MANAGER, plan="國慶後施工加裝截水溝", planned_for=later(18, 0, days=14))

    # 11:20 noise from a neighbour's renovation: widespread, announced on the bulletin board
    noise_ids = []
    for i, (owner, unit) in enumerate([("周先生", "6-0101"), ("吳女士", "6-0202"), ("鄭先生", "6-0303")]):
        at(11, 20 + 5 * i)
        n = desk.receive(by=RECEPTION, owner=owner, unit=unit, channel="visit", category="noise",
                         summary="6棟裝修午休時間施工")
        desk.register(n.id, by=RECEPTION)
        desk.dispatch(n.id, by=RECEPTION)
        desk.flag(n.id, by=RECEPTION, widespread=True)
        noise_ids.append(n.id)
    at(14, 0)
    desk.announce(by=RECEPTION, complaint_ids=noise_ids, channel=AnnouncementChannel.BULLETIN_BOARD,
                  text="重申裝修時間:12:00-14:00 禁止施工")
    for n_id in noise_ids:
        desk.start(n_id, by=MANAGER)
        desk.resolve(n_id, by=MANAGER, result="約談裝修單位,張貼公告")
        desk.reply(n_id, by=RECEPTION)

    # CAPA for the recurring flooding
    at(15, 0)
    capa = desk.open_capa(by=MANAGER, complaint_ids=[flood.id], problem="雨季地下車庫反覆水浸")
    desk.plan_capa(capa.number, by=MANAGER, cause="截水溝容量不足",
                   actions=[("加裝截水溝與抽水泵", later(18, 0, days=20))])

    # the next day: callbacks
    at(10, 0, days=1)
    desk.record_callback(leak.id, by=CALLBACK, method="phone", satisfaction=Satisfaction.SATISFIED,
                         opinion="維修及時")
    desk.close(leak.id, by=CALLBACK)
    desk.record_callback(lamp.id, by=CALLBACK, method="phone", satisfaction=Satisfaction.DISSATISFIED,
                         opinion="燈又壞了")
    for n_id in noise_ids[:2]:
        desk.record_callback(n_id, by=CALLBACK, method="visit", satisfaction=Satisfaction.BASICALLY_SATISFIED)
        desk.close(n_id, by=CALLBACK)
    for minute in (5, 30, 55):  # the third owner cannot be reached: closed after the allowed attempts
        at(10, minute, days=1)
        desk.record_callback(noise_ids[2], by=CALLBACK, method="phone", reached=False)
    desk.close(noise_ids[2], by=CALLBACK)
    desk.sweep(at(12, 0, days=1))
    return desk


def _mask(text: str) -> str:
    return text[:1] + "*" * max(1, len(text) - 1)


def format_register(complaints: list[Complaint], *, show_personal_data: bool = False, lang: str | None = None,
                    policy: Policy | None = None) -> str:
    """The complaint register (投訴登記表, P-6.1.2) as a text table, in ``lang`` (default: the policy's; categories
    named by ``policy``, default ``Policy.default()``)."""
    policy = policy or Policy.default()
    lang = lang or policy.language
    names = {c.code: c.labels.get(lang, c.code) for c in policy.categories}
    rows = [tuple(label(key, lang) for key in ("reg.serial", "reg.date", "reg.owner", "reg.channel", "reg.category",
                                                "reg.status", "reg.result", "reg.breached"))]
    for c in complaints:
        owner = c.owner if show_personal_data else _mask(c.owner)
        result = (c.notice.result if c.notice and c.notice.result else "") or (
            f"{label('reg.referral', lang)}: {c.referral.referred_to}" if c.referral else "")
        late = "、".join(label(f"clock.{n}", lang) for n, d in c.deadlines.items() if d.breached)
        rows.append((c.serial or "—", c.received_at.strftime("%Y-%m-%d %H:%M"), owner,
                     label(f"channel.{c.channel.value}", lang), names.get(c.category, c.category),
                     label(f"status.{c.status.value}", lang), result, late))
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        lines.append("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
