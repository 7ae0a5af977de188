"""The company's commitments to owners, as data (SPEC P-6.2: "handling must meet the company's commitments").

Every number in the procedure — 2 days, 3 working days, 10 minutes, not overnight, 100 % callbacks,
who escalates to whom — is a field here, grouped in a few records (the calendar, the time limits, callbacks,
numbering, closing, analysis) as the TOML file groups them in tables. Code never hard-codes one. Loading
from a dict or a file happens at the edge (``complaint_engine.settings``). See docs/policy.md for every
setting, its SPEC ID and its default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from complaint_engine.errors import PolicyError, ValidationError
from complaint_engine.frozen import FrozenDict, frozen_dict, frozen_share_map, frozen_text_map
from complaint_engine.levels import CLOCK_RULES, DEFAULT_LEVEL, ServiceLevel, Subject, Threshold, parse_threshold
from complaint_engine.messages import Message, Verbatim
from complaint_engine.model import Channel, Event, Role, Satisfaction, Severity, Urgency
from complaint_engine.permissions import DEFAULT_PERMISSIONS
from complaint_engine.rules.calendar import CalendarNotice, WorkingCalendar
from complaint_engine.rules.deadlines import (
    CalendarDays,
    ClockHours,
    ClockMinutes,
    DeadlineRule,
    Earliest,
    EndOfDay,
    WorkingDays,
)

__all__ = [
    "COMPLAINT_EVENTS",
    "REGION_LANGUAGES",
    "AnalysisSettings",
    "CalendarSettings",
    "CallbackSettings",
    "Category",
    "ClosingRules",
    "Department",
    "Limits",
    "Numbering",
    "Policy",
]

LANGUAGES = ("zh-Hant", "zh-Hans", "en")


def _known_zone(name: object) -> bool:
    try:
        return isinstance(name, str) and ZoneInfo(name) is not None
    except (ValueError, ZoneInfoNotFoundError):
        return False


def _display() -> Any:
    import complaint_engine.display as display  # presentation, loaded when a notebook asks

    return display

REGION_LANGUAGES: Mapping[str, str] = FrozenDict({"CN": "zh-Hans", "HK": "zh-Hant", "MO": "zh-Hant", "TW": "zh-Hant"})
"""The report language of a calendar region when the policy names none."""
OnProvisional = Literal["warn", "raise", "ignore"]

# Every event a role may be granted. "record_breach" is the engine's own (Role.SYSTEM).
COMPLAINT_EVENTS = tuple(e.value for e in Event)

# KPI targets (docs/kpis.md): 100 % where the procedure promises it, published minimums elsewhere.
DEFAULT_TARGETS: Mapping[str, float] = FrozenDict({
    "dispatched_on_time": 1.0, "replied_on_time": 1.0, "closed_on_time": 1.0, "callback_rate": 1.0,
    "satisfaction": 0.85, "escalated_on_time": 1.0, "arrived_on_time": 1.0, "emergency_same_day": 1.0,
    "minor_repair_on_time": 1.0, "capa_on_time": 1.0,
})


@attrs.frozen
class Department:
    code: str
    labels: Mapping[str, str] = attrs.field(converter=frozen_text_map)


@attrs.frozen
class Category:
    """A complaint category: labels per language, whether it is a repair, and its default department."""

    code: str
    labels: Mapping[str, str] = attrs.field(converter=frozen_text_map)
    department: str
    repair: bool = False


def _labels(zh_hant: str, zh_hans: str, en: str) -> Mapping[str, str]:
    return {"zh-Hant": zh_hant, "zh-Hans": zh_hans, "en": en}


DEFAULT_DEPARTMENTS = (
    Department("engineering", _labels("工程部", "工程部", "Engineering")),
    Department("security", _labels("保安部", "保安部", "Security")),
    Department("cleaning", _labels("清潔部", "清洁部", "Cleaning")),
    Department("landscaping", _labels("綠化部", "绿化部", "Landscaping")),
    Department("finance", _labels("財務部", "财务部", "Finance")),
    Department("customer_service", _labels("客戶服務中心", "客户服务中心", "Customer service")),
)
DEFAULT_CATEGORIES = (
    Category("repair", _labels("維修", "维修", "Repair"), "engineering", repair=True),
    Category("noise", _labels("噪音", "噪音", "Noise"), "security"),
    Category("cleaning", _labels("清潔衛生", "清洁卫生", "Cleaning"), "cleaning"),
    Category("security", _labels("治安", "治安", "Security"), "security"),
    Category("landscaping", _labels("綠化", "绿化", "Landscaping"), "landscaping"),
    Category("parking", _labels("停車", "停车", "Parking"), "security"),
    Category("fees", _labels("收費", "收费", "Fees"), "finance"),
    Category("facilities", _labels("公共設施", "公共设施", "Facilities"), "engineering"),
    Category("staff_attitude", _labels("服務態度", "服务态度", "Staff attitude"), "customer_service"),
    Category("municipal", _labels("市政", "市政", "Municipal"), "customer_service"),
    Category("other", _labels("其他", "其他", "Other"), "customer_service"),
)


def _permissions(value: Mapping[str, frozenset[Role]]) -> Mapping[str, frozenset[Role]]:
    return frozen_dict(value)


# ------------------------------------------------------------------------------------------- the records
@attrs.frozen(kw_only=True)
class CalendarSettings:
    """``[calendar]``: the official calendar (a python-holidays code), the zone of local days, the notice of a
    year the data does not have yet, business hours, and what a deadline in a provisional year does."""

    region: str = "CN"
    subdivision: str | None = None
    tz: str = "Asia/Shanghai"
    notice: CalendarNotice | None = None  # read once, when the policy is loaded
    business_hours: tuple[tuple[str, str], ...] = ()
    on_provisional: OnProvisional = "warn"


@attrs.frozen(kw_only=True)
class Limits:
    """``[limits]``: the clock rules (also accepted as top-level keys) and how far ``at=`` may run ahead."""

    reply: DeadlineRule = Earliest(CalendarDays(2), WorkingDays(3))  # P-6.3.4 and E-reply
    arrival: DeadlineRule | None = ClockMinutes(10)  # E-repair-arrive
    emergency_repair: DeadlineRule | None = EndOfDay()  # E-repair-urgent
    minor_repair: DeadlineRule | None = ClockHours(24)  # E-repair-minor: the company's choice
    callback: DeadlineRule | None = WorkingDays(3)  # E-callback timing: the company's choice
    # the clocks real helpdesks keep, off unless the company sets them (P-6.3.4 "immediately" is ``start``):
    acknowledge: DeadlineRule | None = None  # receipt → registered or referred (the first response)
    start: DeadlineRule | None = None  # dispatch → remedial work starts (start or record_arrival)
    update: DeadlineRule | None = None  # while deferred or past the reply: tell the owner every interval
    clock_tolerance: dt.timedelta = dt.timedelta(minutes=5)
    # how far before the desk's clock an ``at=`` may go: an action entered late is entered with its real
    # instant, but a register already reported cannot be rewritten weeks later (seconds in TOML)
    max_backdate: dt.timedelta = dt.timedelta(hours=24)


@attrs.frozen(kw_only=True)
class CallbackSettings:
    """``[callbacks]`` (E-callback): whether closing needs one, the unreachable attempts allowed, the target rate
    and which answers count as satisfied."""

    required: bool = True
    attempts: int = 3
    target: float = 1.0
    satisfied: frozenset[Satisfaction] = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})


@attrs.frozen(kw_only=True)
class Numbering:
    """``[numbering]`` (P-6.1.3): one sequence per office and year for each kind of number."""

    serial_format: str = "{office}-{year}-{seq:05d}"
    capa_format: str = "CAPA-{office}-{year}-{seq:04d}"
    announcement_format: str = "ANN-{office}-{year}-{seq:04d}"


@attrs.frozen(kw_only=True)
class ClosingRules:
    """``[closing]`` (P-6.2.3, E-announce): what a complaint needs before it closes."""

    require_capa_number: bool = True
    require_announcement: bool = True


@attrs.frozen(kw_only=True)
class AnalysisSettings:
    """``[analysis]`` (docs/kpis.md): the report language, windows and thresholds the source does not set (the
    company's choice), and the KPI targets."""

    language: str | None = None  # None: the calendar region's (REGION_LANGUAGES)
    repeat_window_days: int = 30
    recurrence_window_days: int = 90
    recurrence_min: int = 3  # months a location's problem comes back in before it is a recurring problem
    widespread_units: int = 4
    widespread_window_days: int = 7
    acknowledge_within_minutes: int = 30
    dispatch_within_minutes: int = 120
    escalate_within_hours: int = 24
    targets: Mapping[str, float] = attrs.field(default=DEFAULT_TARGETS, converter=frozen_share_map)


# ------------------------------------------------------------------------------------------- the policy
def _warn_map(value: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return frozen_dict(value)


@attrs.frozen(kw_only=True)
class Policy:
    """The company's commitments. Build with a preset, :meth:`from_dict` or :meth:`from_toml`."""

    name: str = "default"
    calendar_settings: CalendarSettings = CalendarSettings()
    limits: Limits = Limits()
    callbacks: CallbackSettings = CallbackSettings()
    escalation_role: Role = Role.GENERAL_MANAGER  # P-6.2.2 / E-major
    permissions: Mapping[str, frozenset[Role]] = attrs.field(default=DEFAULT_PERMISSIONS, converter=_permissions)
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    departments: tuple[Department, ...] = DEFAULT_DEPARTMENTS
    reception_department: str = "customer_service"
    numbering: Numbering = Numbering()
    closing: ClosingRules = ClosingRules()
    analysis: AnalysisSettings = AnalysisSettings()
    service_levels: tuple[ServiceLevel, ...] = ()
    # warnings before a breach: thresholds for every clock, by clock, and (in each level) by service level
    warn_at: tuple[str, ...] = ()
    warn_at_by_clock: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_warn_map)

    def __attrs_post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise PolicyError.collect(Message("policy {name!r}", name=self.name), problems)

    # ----------------------------------------------------------------------------- presets
    @classmethod
    def procedure(cls) -> Policy:
        """Part 1 of the source (ISO 9001 procedure): reply within 2 days, escalate to the general manager.

        Part 1 sets no repair limits and no callbacks; those clocks are off.
        """
        return cls(name="procedure", limits=Limits(reply=CalendarDays(2), arrival=None, emergency_repair=None,
                                                   minor_repair=None, callback=None),
                   callbacks=CallbackSettings(required=False), escalation_role=Role.GENERAL_MANAGER)

    @classmethod
    def estate(cls) -> Policy:
        """Parts 2–3 (estate plans): 3 working days, supervisor decides, 10 minutes, not overnight, 100 %."""
        return cls(name="estate", limits=Limits(reply=WorkingDays(3)), escalation_role=Role.SUPERVISOR)

    @classmethod
    def default(cls) -> Policy:
        """Both parts at once: reply by the earlier of 2 days and 3 working days; the general manager decides."""
        return cls()

    # ----------------------------------------------------------------------------- derived
    @property
    def tz(self) -> str:
        """The zone of local days (for display and calendar arithmetic)."""
        return self.calendar_settings.tz

    @property
    def language(self) -> str:
        """The language of reports: ``[analysis] language``, or the calendar region's — Simplified Chinese for
        the mainland, Traditional for Hong Kong, Macau and Taiwan, English elsewhere."""
        return self.analysis.language or REGION_LANGUAGES.get(self.calendar_settings.region, "en")

    def _repr_markdown_(self) -> str:
        return _display().policy_markdown(self)  # type: ignore[no-any-return]

    def _repr_html_(self) -> str:
        return _display().policy_html(self)  # type: ignore[no-any-return]

    def calendar(self) -> WorkingCalendar:
        """The working-day calendar this policy counts on (built once per set of arguments)."""
        c = self.calendar_settings
        return WorkingCalendar.for_region(c.region, subdivision=c.subdivision, tz=c.tz,
                                          business_hours=c.business_hours or None, notice=c.notice,
                                          on_provisional=c.on_provisional)

    def category_label(self, code: str, lang: str | None = None) -> str:
        """A category's label in ``lang`` (default: the policy's language); the code of one it does not know."""
        for cat in self.categories:
            if cat.code == code:
                return cat.labels.get(lang or self.language, code)
        return code

    def category(self, code: str) -> Category:
        for cat in self.categories:
            if cat.code == code:
                return cat
        raise ValidationError.of("category", code, Message("one of {0}", [c.code for c in self.categories]))

    def department(self, code: str) -> Department:
        for dep in self.departments:
            if dep.code == code:
                return dep
        raise ValidationError.of("department", code, Message("one of {0}", [d.code for d in self.departments]))

    def allowed_roles(self, event: str) -> frozenset[Role]:
        return self.permissions.get(event, frozenset())

    def repair_rule(self, emergency: bool) -> DeadlineRule | None:
        return self.limits.emergency_repair if emergency else self.limits.minor_repair

    def level_of(self, subject: Subject) -> ServiceLevel | None:
        """The first service level whose condition the complaint matches (None: the policy's own rules)."""
        return next((level for level in self.service_levels if level.when.matches(subject)), None)

    def rule_for(self, clock: str, subject: Subject) -> tuple[DeadlineRule | None, str]:
        """The rule a clock of this complaint runs under, and the level it comes from: the first matching
        level's when it sets the clock, else the policy's own (``"default"``)."""
        level = self.level_of(subject)
        if level is not None and clock in level.rules:
            return level.rules[clock], level.name
        rule: DeadlineRule | None = getattr(self.limits, clock)
        return rule, DEFAULT_LEVEL

    # ----------------------------------------------------------------------------- validation
    def _problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not _known_zone(self.calendar_settings.tz):
            problems.append(("$.calendar.tz", Message("{tz!r} is not an IANA zone such as 'Asia/Shanghai'",
                                                      tz=self.calendar_settings.tz)))
        if self.calendar_settings.on_provisional not in ("warn", "raise", "ignore"):
            problems.append(("$.calendar.on_provisional", Message("{0!r} is not 'warn', 'raise' or 'ignore'",
                                                                  self.calendar_settings.on_provisional)))
        cb = self.callbacks
        if not 1 <= cb.attempts <= 20:
            problems.append(("$.callbacks.attempts", Message("{attempts!r} is not an integer in 1..20",
                                                             attempts=cb.attempts)))
        if not 0 < cb.target <= 1:
            problems.append(("$.callbacks.target", Message("{target!r} is not a fraction in (0, 1]", target=cb.target)))
        a = self.analysis
        if a.language is not None and a.language not in LANGUAGES:
            problems.append(("$.analysis.language", Message("{language!r} is not one of {0}",
                                                            list(LANGUAGES), language=a.language)))
        if self.escalation_role not in (Role.GENERAL_MANAGER, Role.SUPERVISOR):
            problems.append(("$.escalation_role", Message("{value!r} is not 'general_manager' or 'supervisor'",
                                                          value=self.escalation_role.value)))
        if self.limits.clock_tolerance < dt.timedelta(0):
            problems.append(("$.limits.clock_tolerance", Message("{clock_tolerance} is negative",
                                                                 clock_tolerance=self.limits.clock_tolerance)))
        if not dt.timedelta(0) <= self.limits.max_backdate <= dt.timedelta(days=3653):
            problems.append(("$.limits.max_backdate", Message("{max_backdate} is not between 0 and about ten years",
                                                              max_backdate=self.limits.max_backdate)))
        # upper bounds of about ten years: a huge window loads, then overflows the first timedelta built from it
        if not 2 <= a.recurrence_min <= 120:
            problems.append(("$.analysis.recurrence_min", Message("{recurrence_min!r} is not between 2 and 120 months",
                                                                  recurrence_min=a.recurrence_min)))
        for key, most in (("repeat_window_days", 3653), ("recurrence_window_days", 3653),
                          ("widespread_units", 1_000_000), ("widespread_window_days", 3653),
                          ("acknowledge_within_minutes", 3653 * 24 * 60), ("dispatch_within_minutes", 3653 * 24 * 60),
                          ("escalate_within_hours", 3653 * 24)):
            value = getattr(a, key)
            if value < 1:
                problems.append((f"$.analysis.{key}", Message("{value!r} is not >= 1", value=value)))
            elif value > most:
                problems.append((f"$.analysis.{key}", Message("{value!r} is not <= {most}", value=value, most=most)))
        for kpi, share in a.targets.items():
            if not 0 <= share <= 1:  # NaN fails this too
                problems.append((f"$.analysis.targets.{kpi}", Message("{share!r} is not a share in [0, 1]",
                                                                      share=share)))
        problems += self._taxonomy_problems()
        problems += self._level_problems()
        problems += self._warning_problems()
        for event in self.permissions:
            if event not in COMPLAINT_EVENTS:
                problems.append((f"$.permissions.{event}", Message("unknown event; allowed: {0}",
                                                                   list(COMPLAINT_EVENTS))))
        for key in ("serial_format", "capa_format", "announcement_format"):
            problem = _format_problem(getattr(self.numbering, key))
            if problem:
                problems.append((f"$.numbering.{key}", problem))
        return problems

    def thresholds_for(self, clock: str, subject: Subject) -> tuple[Threshold, ...]:
        """The warning thresholds of a clock of this complaint: its level's, else the clock's, else the policy's."""
        level = self.level_of(subject)
        texts = (level.warn_at if level is not None and level.warn_at is not None
                 else self.warn_at_by_clock.get(clock, self.warn_at))
        return tuple(parse_threshold(t) for t in texts)

    def _warning_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        lists = [("$.warn_at", self.warn_at),
                 *((f"$.warn_at_by_clock.{c}", t) for c, t in self.warn_at_by_clock.items()),
                 *((f"$.service_levels[{i}].warn_at", level.warn_at) for i, level in enumerate(self.service_levels)
                   if level.warn_at is not None)]
        for path, texts in lists:
            for j, text in enumerate(texts):
                try:
                    parse_threshold(text)
                except ValidationError as exc:
                    problems.append((f"{path}[{j}]", exc.args[0]))
        problems += [(f"$.warn_at_by_clock.{c}", f"unknown clock; allowed: {list(CLOCK_RULES)}")
                     for c in self.warn_at_by_clock if c not in CLOCK_RULES]
        return problems

    def _level_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        allowed = {"category": [c.code for c in self.categories], "severity": [x.value for x in Severity],
                   "urgency": [x.value for x in Urgency], "channel": [x.value for x in Channel]}
        seen: set[str] = set()
        for i, level in enumerate(self.service_levels):
            path = f"$.service_levels[{i}]"
            if not level.name.strip():
                problems.append((f"{path}.name", "a level needs a name"))
            elif level.name in seen or level.name == DEFAULT_LEVEL:
                problems.append((f"{path}.name", Message("{name!r} is repeated (or the policy's own 'default')",
                                                         name=level.name)))
            seen.add(level.name)
            for field, values in allowed.items():
                problems += [(f"{path}.when.{field}", f"{v!r} is not one of {values}")
                             for v in getattr(level.when, field) if v not in values]
            problems += [(f"{path}.when.office", f"{v!r} is not an office code") for v in level.when.office
                         if not v.strip()]
            problems += [(f"{path}.{clock}", f"unknown clock; allowed: {list(CLOCK_RULES)}")
                         for clock in level.rules if clock not in CLOCK_RULES]
            shadow = next((earlier.name for earlier in self.service_levels[:i] if earlier.when.covers(level.when)),
                          None)
            if shadow is not None:
                problems.append((f"{path}.when", Message("level {name!r} can never match: every complaint it would "
                                                         "take matches {shadow!r} first",
                                                         name=level.name, shadow=shadow)))
        return problems

    def _taxonomy_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        deps = [d.code for d in self.departments]
        if len(set(deps)) != len(deps):
            problems.append(("$.departments", "department codes are not unique"))
        if self.reception_department not in deps:
            problems.append(("$.reception_department", Message("{0!r} is not one of {1}", self.reception_department,
                                                               deps)))
        codes = [c.code for c in self.categories]
        if len(set(codes)) != len(codes):
            problems.append(("$.categories", "category codes are not unique"))
        for i, cat in enumerate(self.categories):
            if cat.department not in deps:
                problems.append((f"$.categories[{i}].department", Message("{department!r} is not one of {deps}",
                                                                          department=cat.department, deps=deps)))
            for lang in LANGUAGES:
                if not cat.labels.get(lang):
                    problems.append((f"$.categories[{i}].labels.{lang}", "missing"))
        return problems

    # ----------------------------------------------------------------------------- loading (at the edge)
    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Load a policy file, and the notice file it names, once; every problem is reported with its path."""
        from complaint_engine.settings import read_policy

        return read_policy(path)

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, folder: Path | None = None) -> Policy:
        """Build from plain data (the shape of :meth:`to_dict`: tables ``calendar``, ``limits``, ``callbacks``,
        ``numbering``, ``closing``, ``analysis``); a ``preset`` key starts from a preset. Flat keys of the first
        series still load, with a ``DeprecationWarning`` naming their new place. ``calendar_notice`` may be a
        notice file's path, read here once (relative to ``folder`` when it is there)."""
        from complaint_engine.settings import policy_from_dict

        return policy_from_dict(data, folder=folder)

    def to_dict(self) -> dict[str, object]:
        """Plain data that :meth:`from_dict` turns back into an equal policy (TOML-friendly)."""
        from complaint_engine.settings import policy_to_dict

        return policy_to_dict(self)


def _format_problem(fmt: str) -> str | None:
    try:
        sample = fmt.format(office="A", year=2024, seq=17)
    except (KeyError, IndexError, ValueError) as exc:
        return Message("{0!r} does not format with office, year, seq ({1})", fmt, Verbatim(str(exc)))
    if "{seq" not in fmt or not sample.endswith("17"):
        return Message("{0!r} must end with the sequence number {{seq...}}", fmt)
    # each office and year has a sequence of its own: a number that names neither repeats across them
    if len({fmt.format(office=o, year=y, seq=17) for o in ("A", "B") for y in (2024, 2025)}) < 4:
        return Message("{0!r} must name the office and the year ({{office}}, {{year}}): each office and year numbers "
                       "from 1, so without them two get one number", fmt)
    return None
