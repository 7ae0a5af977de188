"""The company's commitments to owners, as data (SPEC P-6.2: "handling must meet the company's commitments").

Every number in the procedure — 2 days, 3 working days, 10 minutes, not overnight, 100 % callbacks,
who escalates to whom — is a field here, loadable from TOML or a dict. Code never hard-codes one.
See docs/policy.md for every setting, its SPEC ID and its default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from complaint_engine.errors import PolicyError, ValidationError
from complaint_engine.frozen import FrozenDict, frozen_dict, frozen_share_map, frozen_text_map
from complaint_engine.model import Event, Role, Satisfaction
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
from complaint_engine.rules.text import parse_rule, rule_text
from complaint_engine.tomlfile import read_calendar_notice, read_toml

__all__ = ["COMPLAINT_EVENTS", "Category", "Department", "Policy"]

LANGUAGES = ("zh-Hant", "zh-Hans", "en")

# Every event a role may be granted. "record_breach" is the engine's own (Role.SYSTEM).
COMPLAINT_EVENTS = tuple(e.value for e in Event)

R = Role
DEFAULT_PERMISSIONS: Mapping[str, frozenset[Role]] = FrozenDict({
    "receive": frozenset({R.RECEPTION}),
    "refer": frozenset({R.RECEPTION}),
    "register": frozenset({R.RECEPTION}),
    "dispatch": frozenset({R.RECEPTION}),
    "reply": frozenset({R.RECEPTION}),
    "escalate": frozenset({R.DEPARTMENT_MANAGER, R.RECEPTION}),
    "decide": frozenset({R.GENERAL_MANAGER, R.SUPERVISOR}),  # narrowed to the escalation role by a guard
    "start": frozenset({R.DEPARTMENT_MANAGER}),
    "defer": frozenset({R.DEPARTMENT_MANAGER}),
    "resolve": frozenset({R.DEPARTMENT_MANAGER, R.TECHNICIAN}),
    "record_arrival": frozenset({R.TECHNICIAN, R.DEPARTMENT_MANAGER}),
    "pause": frozenset({R.TECHNICIAN, R.DEPARTMENT_MANAGER}),
    "resume": frozenset({R.TECHNICIAN, R.DEPARTMENT_MANAGER}),
    "flag": frozenset({R.DEPARTMENT_MANAGER, R.RECEPTION, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "record_callback": frozenset({R.CALLBACK_OFFICER}),
    "close": frozenset({R.CALLBACK_OFFICER}),
    "reopen": frozenset({R.CALLBACK_OFFICER, R.RECEPTION, R.DEPARTMENT_MANAGER}),
    "open_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "link_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "plan_capa": frozenset({R.DEPARTMENT_MANAGER}),
    "implement_capa": frozenset({R.DEPARTMENT_MANAGER}),
    "verify_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "close_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "announce": frozenset({R.RECEPTION, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "record_breach": frozenset({R.SYSTEM}),
})


# KPI targets (KPIS.md): 100 % where the procedure promises it, published minimums elsewhere.
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


def _frozen_permissions(value: Mapping[str, frozenset[Role]]) -> Mapping[str, frozenset[Role]]:
    return frozen_dict(value)


@attrs.frozen(kw_only=True)
class Policy:
    """The company's commitments. Build with a preset, :meth:`from_dict` or :meth:`from_toml`."""

    name: str = "default"
    # calendar and zone (Interpretations)
    region: str = "CN"
    subdivision: str | None = None
    tz: str = "Asia/Shanghai"
    calendar_notice: CalendarNotice | None = None  # read once, when the policy is loaded
    business_hours: tuple[tuple[str, str], ...] = ()
    on_provisional: str = "warn"
    # time limits
    reply: DeadlineRule = Earliest(CalendarDays(2), WorkingDays(3))  # P-6.3.4 and E-reply
    arrival: DeadlineRule | None = ClockMinutes(10)  # E-repair-arrive
    emergency_repair: DeadlineRule | None = EndOfDay()  # E-repair-urgent
    minor_repair: DeadlineRule | None = ClockHours(24)  # E-repair-minor: the company's choice
    callback: DeadlineRule | None = WorkingDays(3)  # E-callback timing: the company's choice
    # callbacks (E-callback)
    callback_required: bool = True
    callback_attempts: int = 3
    callback_target: float = 1.0
    satisfied: frozenset[Satisfaction] = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})
    # escalation (P-6.2.2 / E-major)
    escalation_role: Role = Role.GENERAL_MANAGER
    # who may do what
    permissions: Mapping[str, frozenset[Role]] = attrs.field(default=DEFAULT_PERMISSIONS, converter=_frozen_permissions)
    # taxonomy
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    departments: tuple[Department, ...] = DEFAULT_DEPARTMENTS
    reception_department: str = "customer_service"
    # numbering (P-6.1.3)
    serial_format: str = "{office}-{year}-{seq:05d}"
    capa_format: str = "CAPA-{office}-{year}-{seq:04d}"
    announcement_format: str = "ANN-{office}-{year}-{seq:04d}"
    # closing requirements (P-6.2.3, E-announce)
    require_capa_number: bool = True
    require_announcement: bool = True
    # input hygiene
    clock_tolerance: dt.timedelta = dt.timedelta(minutes=5)
    # analysis (KPIS.md); thresholds the source does not set are the company's choice
    language: str = "zh-Hant"
    repeat_window_days: int = 30
    recurrence_window_days: int = 90
    widespread_units: int = 4
    widespread_window_days: int = 7
    acknowledge_within_minutes: int = 30
    dispatch_within_minutes: int = 120
    escalate_within_hours: int = 24
    targets: Mapping[str, float] = attrs.field(default=DEFAULT_TARGETS, converter=frozen_share_map)

    def __attrs_post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise PolicyError.collect(f"policy {self.name!r}", problems)

    # ----------------------------------------------------------------------------- presets
    @classmethod
    def procedure(cls) -> Policy:
        """Part 1 of the source (ISO 9001 procedure): reply within 2 days, escalate to the general manager.

        Part 1 sets no repair limits and no callbacks; those clocks are off.
        """
        return cls(name="procedure", reply=CalendarDays(2), arrival=None, emergency_repair=None,
                   minor_repair=None, callback=None, callback_required=False,
                   escalation_role=Role.GENERAL_MANAGER)

    @classmethod
    def estate(cls) -> Policy:
        """Parts 2–3 (estate plans): 3 working days, supervisor decides, 10 minutes, not overnight, 100 %."""
        return cls(name="estate", reply=WorkingDays(3), escalation_role=Role.SUPERVISOR)

    @classmethod
    def default(cls) -> Policy:
        """Both parts at once: reply by the earlier of 2 days and 3 working days; the general manager decides."""
        return cls()

    # ----------------------------------------------------------------------------- derived
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar this policy counts on (built once per set of arguments)."""
        return WorkingCalendar.for_region(
            self.region, subdivision=self.subdivision, tz=self.tz, business_hours=self.business_hours or None,
            notice=self.calendar_notice,
            on_provisional=self.on_provisional,  # type: ignore[arg-type]
        )

    def category(self, code: str) -> Category:
        for cat in self.categories:
            if cat.code == code:
                return cat
        raise ValidationError.of("category", code, f"one of {[c.code for c in self.categories]}")

    def department(self, code: str) -> Department:
        for dep in self.departments:
            if dep.code == code:
                return dep
        raise ValidationError.of("department", code, f"one of {[d.code for d in self.departments]}")

    def allowed_roles(self, event: str) -> frozenset[Role]:
        return self.permissions.get(event, frozenset())

    def repair_rule(self, emergency: bool) -> DeadlineRule | None:
        return self.emergency_repair if emergency else self.minor_repair

    # ----------------------------------------------------------------------------- validation
    def _problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.on_provisional not in ("warn", "raise", "ignore"):
            problems.append(("$.on_provisional", f"{self.on_provisional!r} is not 'warn', 'raise' or 'ignore'"))
        if not 1 <= self.callback_attempts <= 20:
            problems.append(("$.callback_attempts", f"{self.callback_attempts!r} is not an integer in 1..20"))
        if not 0 < self.callback_target <= 1:
            problems.append(("$.callback_target", f"{self.callback_target!r} is not a fraction in (0, 1]"))
        if self.language not in LANGUAGES:
            problems.append(("$.language", f"{self.language!r} is not one of {list(LANGUAGES)}"))
        if self.escalation_role not in (Role.GENERAL_MANAGER, Role.SUPERVISOR):
            problems.append(("$.escalation_role", f"{self.escalation_role.value!r} is not 'general_manager' or "
                             "'supervisor'"))
        if self.clock_tolerance < dt.timedelta(0):
            problems.append(("$.clock_tolerance", f"{self.clock_tolerance} is negative"))
        for key in ("repeat_window_days", "recurrence_window_days", "widespread_units", "widespread_window_days",
                    "acknowledge_within_minutes",
                    "dispatch_within_minutes", "escalate_within_hours"):
            if getattr(self, key) < 1:
                problems.append((f"$.{key}", f"{getattr(self, key)!r} is not >= 1"))
        deps = [d.code for d in self.departments]
        if len(set(deps)) != len(deps):
            problems.append(("$.departments", "department codes are not unique"))
        if self.reception_department not in deps:
            problems.append(("$.reception_department", f"{self.reception_department!r} is not one of {deps}"))
        codes = [c.code for c in self.categories]
        if len(set(codes)) != len(codes):
            problems.append(("$.categories", "category codes are not unique"))
        for i, cat in enumerate(self.categories):
            if cat.department not in deps:
                problems.append((f"$.categories[{i}].department", f"{cat.department!r} is not one of {deps}"))
            for lang in LANGUAGES:
                if not cat.labels.get(lang):
                    problems.append((f"$.categories[{i}].labels.{lang}", "missing"))
        for event in self.permissions:
            if event not in COMPLAINT_EVENTS:
                problems.append((f"$.permissions.{event}", f"unknown event; allowed: {list(COMPLAINT_EVENTS)}"))
        for fmt_key in ("serial_format", "capa_format", "announcement_format"):
            fmt = getattr(self, fmt_key)
            try:
                sample = fmt.format(office="A", year=2024, seq=17)
            except (KeyError, IndexError, ValueError) as exc:
                problems.append((f"$.{fmt_key}", f"{fmt!r} does not format with office, year, seq ({exc})"))
                continue
            if "{seq" not in fmt or not sample.endswith("17"):
                problems.append((f"$.{fmt_key}", f"{fmt!r} must end with the sequence number {{seq...}}"))
            # each office and year has a sequence of its own: a number that names neither repeats across them
            elif len({fmt.format(office=o, year=y, seq=17) for o in ("A", "B") for y in (2024, 2025)}) < 4:
                problems.append((f"$.{fmt_key}", f"{fmt!r} must name the office and the year ({{office}}, {{year}}): "
                                 "each office and year numbers from 1, so without them two get one number"))
        return problems

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Load a policy file; every problem is reported with its path."""
        data = read_toml(path, "policy file", PolicyError)
        return cls.from_dict(data, folder=Path(path).parent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, folder: Path | None = None) -> Policy:
        """Build from plain data (the shape of :meth:`to_dict`); a ``preset`` key starts from a preset.

        ``calendar_notice`` is the notice itself (a table, as :meth:`to_dict` writes it) or the path of a notice
        file, read here once: relative to ``folder`` (the policy file's, for :meth:`from_toml`) when it is
        there, else to the working directory."""
        problems: list[tuple[str, str]] = []
        data = dict(data)
        preset = data.pop("preset", "default")
        presets = {"default": cls.default, "procedure": cls.procedure, "estate": cls.estate}
        if preset not in presets:
            problems.append(("$.preset", f"{preset!r} is not one of {sorted(presets)}"))
            preset = "default"
        base = presets[preset]()
        fields = {f.name: f for f in attrs.fields(cls)}
        changes: dict[str, Any] = {}
        for key, raw in data.items():
            path = f"$.{key}"
            if key not in fields:
                problems.append((path, f"unknown setting; allowed: {sorted(fields)}"))
                continue
            try:
                changes[key] = _convert(key, raw, path, problems, folder)
            except (ValidationError, TypeError, ValueError, KeyError) as exc:
                problems.append((path, str(exc)))
        try:
            policy = attrs.evolve(base, **changes)
        except PolicyError as exc:  # value problems of the settings that did convert
            problems.extend(exc.problems)
        except (TypeError, ValueError) as exc:
            problems.append(("$", str(exc)))
        if problems:
            raise PolicyError.collect("policy", problems)
        return policy

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` turns back into an equal policy (TOML-friendly)."""
        out: dict[str, Any] = {}
        for f in attrs.fields(Policy):
            value = getattr(self, f.name)
            out[f.name] = _plain(f.name, value)
        return out


RULE_FIELDS = {"reply", "arrival", "emergency_repair", "minor_repair", "callback"}


def _plain(key: str, value: Any) -> Any:
    if key in RULE_FIELDS:
        return "none" if value is None else rule_text(value)
    if key == "permissions":
        return {event: sorted(r.value for r in roles) for event, roles in value.items()}
    if key == "satisfied":
        return sorted(s.value for s in value)
    if key == "escalation_role":
        return value.value
    if key == "clock_tolerance":
        return int(value.total_seconds())
    if key == "categories":
        return [{"code": c.code, "labels": dict(c.labels), "department": c.department, "repair": c.repair}
                for c in value]
    if key == "departments":
        return [{"code": d.code, "labels": dict(d.labels)} for d in value]
    if key == "business_hours":
        return [list(pair) for pair in value]
    if key == "targets":
        return dict(value)
    if key == "calendar_notice" and isinstance(value, CalendarNotice):
        return _notice_data(value)
    if value is None:
        return "none"
    return value


def _notice(raw: object, folder: Path | None) -> CalendarNotice | None:
    if raw in (None, "none"):
        return None
    if isinstance(raw, Mapping):
        return CalendarNotice.from_dict(raw)
    if not isinstance(raw, str):
        raise ValidationError.of("calendar_notice", raw, "the path of a notice file, or the notice as a table")
    path = Path(raw)
    if folder is not None and not path.is_absolute() and (folder / path).exists():
        path = folder / path
    return read_calendar_notice(path)


def _notice_data(notice: CalendarNotice) -> dict[str, Any]:
    data: dict[str, Any] = {"notice": {str(year): {"holidays": [d.isoformat() for d in off],
                                                  "workdays": [d.isoformat() for d in on]}
                                       for year, (off, on) in sorted(notice.notices.items())},
                            "company": {"holidays": [d.isoformat() for d in notice.holidays],
                                        "workdays": [d.isoformat() for d in notice.workdays]}}
    if notice.published_through is not None:
        data["published_through"] = notice.published_through
    return data


def _convert(key: str, raw: Any, path: str, problems: list[tuple[str, str]], folder: Path | None) -> Any:
    if key in RULE_FIELDS:
        return None if raw in (None, "none") else parse_rule(raw)
    if key == "calendar_notice":
        return _notice(raw, folder)
    if key == "subdivision":
        return None if raw in (None, "none") else str(raw)
    if key == "permissions":
        if not isinstance(raw, Mapping):
            raise ValidationError.of("permissions", raw, "a table of event = [roles]")
        perms = dict(DEFAULT_PERMISSIONS)
        for event, roles in raw.items():
            perms[event] = frozenset(_role(r, f"{path}.{event}", problems) for r in _as_list(roles))
        return perms
    if key == "satisfied":
        return frozenset(Satisfaction(v) for v in _as_list(raw))
    if key == "escalation_role":
        return _role(raw, path, problems)
    if key == "clock_tolerance":
        return dt.timedelta(seconds=int(raw))
    if key == "categories":
        return tuple(Category(code=c["code"], labels=dict(c["labels"]), department=c["department"],
                              repair=bool(c.get("repair", False))) for c in _as_list(raw))
    if key == "departments":
        return tuple(Department(code=d["code"], labels=dict(d["labels"])) for d in _as_list(raw))
    if key == "business_hours":
        return tuple((str(a), str(b)) for a, b in _as_list(raw))
    if key == "targets":
        if not isinstance(raw, Mapping):
            raise ValidationError.of("targets", raw, "a table of kpi = share")
        return {**DEFAULT_TARGETS, **{str(k): float(v) for k, v in raw.items()}}
    return raw


def _as_list(raw: Any) -> Iterable[Any]:
    if not isinstance(raw, (list, tuple, set, frozenset)):
        raise ValidationError.of("value", raw, "a list")
    return raw


def _role(raw: Any, path: str, problems: list[tuple[str, str]]) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise ValidationError.of("role", raw, f"one of {[r.value for r in Role]}") from None
