"""A year at an estate, simulated through the real ComplaintDesk (``python -m complaint_engine demo``).

About 300 households in 6 buildings. Complaints arrive day and night with a realistic mix of categories
and channels; each then follows the procedure with random but plausible timing: referrals of what is not
the office's business, repairs with on-site arrival (sometimes late), major complaints escalated and
decided, deferrals with a plan, callbacks (some owners unreachable, some dissatisfied, which reopens the
complaint), a recurring leak in one building that leads to a CAPA, and a renovation-noise problem across
units of another building that leads to a public announcement. Deterministic for a given seed.

Every step is one desk verb, i.e. one committed transaction: interrupting the run leaves a consistent
store (complaints simply stop where they were).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from itertools import count
from zoneinfo import ZoneInfo

import attrs

from complaint_engine.clock import FixedClock
from complaint_engine.desk import ComplaintDesk
from complaint_engine.errors import ValidationError
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.messages import Message
from complaint_engine.model import Actor, AnnouncementChannel, Role, Satisfaction, Status
from complaint_engine.policy import Policy
from complaint_engine.storage import Repository

__all__ = ["SimulationResult", "simulate_year"]

TZ = ZoneInfo("Asia/Shanghai")
OFFICE = "A"
BUILDINGS = 6
FLOORS = 10
UNITS_PER_FLOOR = 5  # 6 × 10 × 5 = 300 households
RECEPTION = Actor("duty-li", Role.RECEPTION, OFFICE)
NIGHT_DUTY = Actor("duty-zhou", Role.RECEPTION, OFFICE)
MANAGERS = {"engineering": Actor("mgr-wang", Role.DEPARTMENT_MANAGER, OFFICE),
            "security": Actor("mgr-lin", Role.DEPARTMENT_MANAGER, OFFICE),
            "cleaning": Actor("mgr-huang", Role.DEPARTMENT_MANAGER, OFFICE),
            "landscaping": Actor("mgr-wu", Role.DEPARTMENT_MANAGER, OFFICE),
            "finance": Actor("mgr-zheng", Role.DEPARTMENT_MANAGER, OFFICE),
            "customer_service": Actor("mgr-chen", Role.DEPARTMENT_MANAGER, OFFICE)}
TECHNICIANS = [Actor(f"tech-{n}", Role.TECHNICIAN, OFFICE) for n in ("zhao", "qian", "sun", "ma")]
GM = Actor("gm-sun", Role.GENERAL_MANAGER, OFFICE)
SUPERVISOR = Actor("sup-he", Role.SUPERVISOR, OFFICE)
CALLBACK = Actor("cs-chen", Role.CALLBACK_OFFICER, OFFICE)
CATEGORY_MIX = {"repair": 30, "noise": 14, "cleaning": 12, "security": 7, "landscaping": 5, "parking": 9,
                "fees": 7, "facilities": 8, "staff_attitude": 3, "municipal": 3, "other": 2}
CHANNEL_MIX = {"phone": 55, "visit": 20, "online": 20, "letter": 4, "fax": 1}
# real family and given names, in (zh-Hant, zh-Hans, en) — an owner is one of each
SURNAMES = (("陳", "陈", "Chen"), ("林", "林", "Lin"), ("黃", "黄", "Huang"), ("張", "张", "Zhang"), ("李", "李", "Li"),
            ("王", "王", "Wang"), ("吳", "吴", "Wu"), ("劉", "刘", "Liu"), ("蔡", "蔡", "Cai"), ("楊", "杨", "Yang"),
            ("許", "许", "Xu"), ("鄭", "郑", "Zheng"), ("謝", "谢", "Xie"), ("郭", "郭", "Guo"), ("何", "何", "He"),
            ("曾", "曾", "Zeng"), ("周", "周", "Zhou"), ("趙", "赵", "Zhao"), ("孫", "孙", "Sun"), ("馬", "马", "Ma"))
GIVEN_NAMES = (("志明", "志明", "Zhiming"), ("淑芬", "淑芬", "Shufen"), ("建國", "建国", "Jianguo"),
               ("美玲", "美玲", "Meiling"), ("俊傑", "俊杰", "Junjie"), ("雅婷", "雅婷", "Yating"),
               ("文華", "文华", "Wenhua"), ("麗華", "丽华", "Lihua"), ("家豪", "家豪", "Jiahao"),
               ("嘉欣", "嘉欣", "Jiaxin"), ("國強", "国强", "Guoqiang"), ("秀英", "秀英", "Xiuying"),
               ("浩然", "浩然", "Haoran"), ("靜怡", "静怡", "Jingyi"), ("子軒", "子轩", "Zixuan"),
               ("玉蘭", "玉兰", "Yulan"))


@attrs.frozen
class SimulationResult:
    desk: ComplaintDesk
    complaints: int
    transitions: int
    interrupted: bool = False


def _units() -> list[str]:
    return [f"{b}-{f:02d}{u:02d}" for b in range(1, BUILDINGS + 1) for f in range(1, FLOORS + 1)
            for u in range(1, UNITS_PER_FLOOR + 1)]


class _Simulator:
    def __init__(self, desk: ComplaintDesk, clock: FixedClock, year: int, rng: random.Random,
                 progress: Callable[[dt.date, int], None] | None, lang: str) -> None:
        self.desk, self.clock, self.year, self.rng = desk, clock, year, rng
        self.lang = lang
        self.script = LANGUAGES.index(lang)  # the column of the name tables
        self.progress = progress
        self.queue: list[tuple[dt.datetime, int, Callable[[], object]]] = []
        self.seq = count()
        self.units = _units()
        self.steps = 0
        self.received = 0
        self.leaks: list[str] = []
        self.noise: list[str] = []

    # ------------------------------------------------------------------------------------------ the queue
    def at(self, when: dt.datetime, action: Callable[[], object]) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), action))

    def later(self, minutes: float, action: Callable[[], object]) -> None:
        self.at(self.clock.now() + dt.timedelta(minutes=max(1.0, minutes)), action)

    def run(self, until: dt.datetime) -> None:
        last_day = None
        while self.queue and self.queue[0][0] < until:
            when, _, action = heapq.heappop(self.queue)
            self.clock.set(max(when, self.clock.now()))
            action()
            self.steps += 1
            if self.progress and when.date() != last_day:
                last_day = when.date()
                self.progress(last_day, self.received)

    # ------------------------------------------------------------------------------------------ arrivals
    def schedule_arrivals(self) -> None:
        day = dt.date(self.year, 1, 1)
        while day.year == self.year:
            for _ in range(self._poisson(1.6)):
                hour = self.rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 9, 8, 7, 8, 9, 9, 9, 8,
                                                             8, 8, 7, 5, 3, 2])[0]
                when = dt.datetime.combine(day, dt.time(hour, self.rng.randrange(60)), tzinfo=TZ)
                self.at(when, self.new_complaint)
            day += dt.timedelta(days=1)
        # a leak in building 3 that keeps coming back (→ CAPA) and renovation noise in building 5 (→ announcement)
        for month, dd in ((2, 6), (2, 27), (3, 19), (4, 8)):
            unit = self.rng.choice([u for u in self.units if u.startswith("3-")])
            self.at(dt.datetime(self.year, month, dd, 9, 30, tzinfo=TZ),
                    self._arrival("repair", unit, self.t("sim.leak"), leak=True))
        for k, unit in enumerate(("5-0301", "5-0402", "5-0503", "5-0601")):
            self.at(dt.datetime(self.year, 5, 13 + k, 12, 40, tzinfo=TZ),
                    self._arrival("noise", unit, self.t("sim.renovation_noise"), noise=True))
        self.at(dt.datetime(self.year, 5, 18, 10, tzinfo=TZ), self.announce_noise)
        self.at(dt.datetime(self.year, 4, 12, 10, tzinfo=TZ), self.open_leak_capa)
        for month in range(1, 13):
            self.at(dt.datetime(self.year, month, 28, 23, 0, tzinfo=TZ), self.sweep)

    def t(self, key: str) -> str:
        return label(key, self.lang)

    def _owner(self) -> str:
        family, given = self.rng.choice(SURNAMES)[self.script], self.rng.choice(GIVEN_NAMES)[self.script]
        return f"{family} {given}" if self.lang == "en" else family + given

    def _arrival(self, category: str, unit: str, summary: str, *, leak: bool = False,
                 noise: bool = False) -> Callable[[], None]:
        def arrive() -> None:
            self.new_complaint(category, unit, summary, leak=leak, noise=noise)

        return arrive

    def _poisson(self, mean: float) -> int:
        # Knuth's method: fine for small means, and deterministic with the seeded generator
        limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # ------------------------------------------------------------------------------------------ one complaint
    def new_complaint(self, category: str | None = None, unit: str | None = None, summary: str | None = None, *,
                      leak: bool = False, noise: bool = False) -> None:
        rng = self.rng
        category = category or rng.choices(list(CATEGORY_MIX), weights=list(CATEGORY_MIX.values()))[0]
        unit = unit or rng.choice(self.units)
        channel = rng.choices(list(CHANNEL_MIX), weights=list(CHANNEL_MIX.values()))[0]
        night = not 8 <= self.clock.now().hour < 20
        duty = NIGHT_DUTY if night else RECEPTION
        urgency = None
        if category == "repair":
            urgency = "emergency" if leak or rng.random() < 0.2 else "minor"
        summary = summary or self.t("sim.summary").format(category=self.desk.policy.category_label(category, self.lang))
        c = self.desk.receive(by=duty, owner=self._owner(), unit=unit,
                              channel=channel, category=category, summary=summary,
                              urgency=urgency, relayed_by=self.t("sim.relayed_by") if rng.random() < 0.03 else None,
                              attachments=(f"rec://{self.clock.now():%Y%m%d%H%M}.wav",) if channel == "phone" else ())
        self.received += 1
        if leak:
            self.leaks.append(c.id)
        if noise:
            self.noise.append(c.id)
        if category == "municipal" or (category == "other" and rng.random() < 0.5):
            self.later(rng.uniform(2, 15), lambda: self.desk.refer(c.id, by=duty, reason=self.t("sim.not_ours"),
                                                                    referred_to=self.t("sim.referred_to")))
            return
        self.later(rng.uniform(2, 25 if not night else 60), lambda: self.register(c.id, duty))

    def register(self, cid: str, duty: Actor) -> None:
        self.desk.register(cid, by=duty)
        self.later(self.rng.uniform(5, 90), lambda: self.dispatch(cid, duty))

    def dispatch(self, cid: str, duty: Actor) -> None:
        c = self.desk.get(cid)
        tech = self.rng.choice(TECHNICIANS).id if c.is_repair else None
        notice = self.desk.dispatch(cid, by=duty, assignee=tech)
        manager = MANAGERS[notice.department]
        if not c.is_repair and self.rng.random() < 0.03:  # needs coordination: a major complaint
            self.later(self.rng.uniform(30, 300), lambda: self.escalate(cid, manager))
        elif c.is_repair:
            late = self.rng.random() < 0.08
            self.later(self.rng.uniform(12, 35) if late else self.rng.uniform(3, 9.5),
                       lambda: self.arrive(cid, tech or ""))
        else:
            self.later(self.rng.uniform(20, 600), lambda: self.start(cid, manager))

    def escalate(self, cid: str, manager: Actor) -> None:
        self.desk.escalate(cid, by=manager, reason=self.t("sim.escalation"))
        decider = GM if self.desk.policy.escalation_role is Role.GENERAL_MANAGER else SUPERVISOR
        self.later(self.rng.uniform(60, 600), lambda: self.decide(cid, decider, manager))

    def decide(self, cid: str, decider: Actor, manager: Actor) -> None:
        self.desk.decide(cid, by=decider, decision=self.t("sim.decision"))
        self.later(self.rng.uniform(30, 240), lambda: self.start(cid, manager))

    def arrive(self, cid: str, tech_id: str) -> None:
        tech = next(t for t in TECHNICIANS if t.id == tech_id)
        self.desk.record_arrival(cid, by=tech)
        c = self.desk.get(cid)
        emergency = c.urgency is not None and c.urgency.value == "emergency"
        minutes = self.rng.uniform(20, 240) if emergency else self.rng.uniform(60, 60 * (30 if self.rng.random() < 0.1
                                                                                           else 20))
        self.later(minutes, lambda: self.resolve(cid, tech))

    def start(self, cid: str, manager: Actor) -> None:
        self.desk.start(cid, by=manager)
        if self.rng.random() < 0.04:  # cannot be solved now: a plan, explained to the owner
            planned = self.clock.now() + dt.timedelta(days=self.rng.randint(7, 20))
            self.later(30, lambda: self.defer(cid, manager, planned))
            return
        self.later(self.rng.uniform(60, 60 * (60 if self.rng.random() < 0.06 else 30)),
                   lambda: self.resolve(cid, manager))

    def defer(self, cid: str, manager: Actor, planned: dt.datetime) -> None:
        self.desk.defer(cid, by=manager, plan="備料後施工", planned_for=planned)
        self.at(planned - dt.timedelta(hours=self.rng.uniform(2, 30)), lambda: self.resolve(cid, manager))

    def resolve(self, cid: str, by: Actor) -> None:
        self.desk.resolve(cid, by=by, result=self.t("sim.resolved"))
        self.later(self.rng.uniform(10, 60 * (30 if self.rng.random() < 0.05 else 3)), lambda: self.reply(cid))

    def reply(self, cid: str) -> None:
        self.desk.reply(cid, by=RECEPTION, note=self.t("sim.reply_note"))
        self.later(self.rng.uniform(60 * 18, 60 * 60), lambda: self.callback(cid, 1))

    def callback(self, cid: str, attempt: int) -> None:
        r = self.rng.random()
        if r < 0.05 and attempt <= self.desk.policy.callbacks.attempts:
            self.desk.record_callback(cid, by=CALLBACK, method="phone", reached=False)
            if attempt == self.desk.policy.callbacks.attempts:
                self.later(10, lambda: self.close(cid))
            else:
                self.later(self.rng.uniform(60, 600), lambda: self.callback(cid, attempt + 1))
            return
        if r < 0.10 and self.desk.get(cid).status is Status.REPLIED and attempt == 1:
            self.desk.record_callback(cid, by=CALLBACK, method="phone", satisfaction=Satisfaction.DISSATISFIED,
                                      opinion=self.t("sim.unsolved"))
            manager = MANAGERS[self.desk.get(cid).notice.department]  # type: ignore[union-attr]
            self.later(self.rng.uniform(60, 600), lambda: self.resolve(cid, manager))
            return
        satisfaction = Satisfaction.SATISFIED if r < 0.85 else Satisfaction.BASICALLY_SATISFIED
        self.desk.record_callback(cid, by=CALLBACK, method=self.rng.choice(["phone", "phone", "visit"]),
                                  satisfaction=satisfaction, opinion=self.t(f"satisfaction.{satisfaction.value}"))
        self.later(5, lambda: self.close(cid))

    def close(self, cid: str) -> None:
        if self.desk.get(cid).status in (Status.CALLED_BACK, Status.REPLIED):
            self.desk.close(cid, by=CALLBACK)

    # ------------------------------------------------------------------------------------------ office-wide
    def open_leak_capa(self) -> None:
        manager = MANAGERS["engineering"]
        capa = self.desk.open_capa(by=manager, complaint_ids=self.leaks, problem=self.t("sim.capa_problem"))
        now = self.clock.now()
        self.at(now + dt.timedelta(days=2), lambda: self.desk.plan_capa(
            capa.number, by=manager, cause=self.t("sim.capa_cause"),
            actions=[(self.t("sim.capa_pipe"), now + dt.timedelta(days=30)),
                     (self.t("sim.capa_inspection"), now + dt.timedelta(days=40))]))
        self.at(now + dt.timedelta(days=22), lambda: self.desk.complete_capa_action(capa.number, by=manager, action=0))
        self.at(now + dt.timedelta(days=24), lambda: self.desk.complete_capa_action(capa.number, by=manager, action=1))
        self.at(now + dt.timedelta(days=25), lambda: self.desk.implement_capa(capa.number, by=manager))
        self.at(now + dt.timedelta(days=70), lambda: self.desk.verify_capa(
            capa.number, by=manager, effective=True, note=self.t("sim.capa_verified")))
        self.at(now + dt.timedelta(days=71), lambda: self.desk.close_capa(capa.number, by=manager))

    def announce_noise(self) -> None:
        ids = [cid for cid in self.noise if self.desk.get(cid).status not in (Status.CLOSED, Status.REFERRED)]
        if not ids:
            return
        self.desk.announce(by=RECEPTION, complaint_ids=ids, channel=AnnouncementChannel.BULLETIN_BOARD,
                           text=self.t("sim.announcement"))
        for cid in ids:
            self.desk.flag(cid, by=RECEPTION, widespread=True)

    def sweep(self) -> None:
        self.desk.sweep()


def simulate_year(repository: Repository, *, year: int = 2024, seed: int = 7, policy: Policy | None = None,
                  progress: Callable[[dt.date, int], None] | None = None, lang: str | None = None) -> SimulationResult:
    """Run a year at the estate into ``repository``; ``progress(day, complaints so far)`` is called daily. The
    texts the simulated staff write (names, results, notes, reasons) are in ``lang`` (default: the policy's)."""
    policy = policy or Policy.default()
    lang = lang or policy.language
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, Message("one of {0}", list(LANGUAGES)))
    rng = random.Random(seed)
    clock = FixedClock(dt.datetime(year, 1, 1, tzinfo=TZ))
    ids = count(1)
    desk = ComplaintDesk(policy=policy, repository=repository, clock=clock,
                         id_factory=lambda: f"{year}-{seed}-{next(ids):06d}")
    sim = _Simulator(desk, clock, year, rng, progress, lang)
    sim.schedule_arrivals()
    interrupted = False
    try:
        sim.run(until=dt.datetime(year + 1, 1, 1, tzinfo=TZ))
        clock.set(dt.datetime(year + 1, 1, 1, tzinfo=TZ))
        desk.sweep()
    except KeyboardInterrupt:  # every finished verb is committed; the store is consistent as it stands
        interrupted = True
    return SimulationResult(desk=desk, complaints=sim.received, transitions=sim.steps, interrupted=interrupted)
