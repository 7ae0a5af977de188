"""Reading the State Council's yearly holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知) from its text.

The notice is short and regular: one numbered item per festival, each with the days off ("1月28日（周二）至2月4日
（周二）放假调休，共8天") and the make-up working days ("1月26日（周日）、2月8日（周六）上班") or "不调休". The
text may be in Simplified or Traditional characters, with full-width or ASCII digits and punctuation. Every
stated day count and weekday is checked against the dates read; a mismatch is a ``CalendarError`` naming the
sentence.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from complaint_engine.errors import CalendarError
from complaint_engine.labels import label
from complaint_engine.messages import Message

if TYPE_CHECKING:
    from complaint_engine.rules.calendar import WorkingCalendar
    from complaint_engine.rules.notice import CalendarNotice

__all__ = ["FESTIVALS", "NoticeItem", "month_grid", "notice_toml", "parse_notice_text"]

FESTIVALS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
"""The festivals a notice arranges (Simplified; Traditional is read as the same)."""

# Traditional → Simplified for the characters a notice's structure uses (names, verbs, weekdays, the lunar
# annotations); the rest of the text is not interpreted
_SIMPLIFIED = str.maketrans({"節": "节", "調": "调", "週": "周", "勞": "劳", "動": "动", "國": "国", "慶": "庆",
                             "與": "与", "連": "连", "農": "农", "曆": "历", "臘": "腊", "廳": "厅", "關": "关",
                             "務": "务", "於": "于", "辦": "办", "間": "间", "時": "时", "體": "体", "陰": "阴",
                             "歷": "历", "內": "内", "兩": "两", "個": "个", "發": "发", "現": "现", "將": "将"})
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_NUMERALS = "一二三四五六七八九十"
_DATE = r"(?:(?P<{p}y>\d{{4}})年)?(?:(?P<{p}m>\d{{1,2}})月)?(?P<{p}d>\d{{1,2}})日(?:\((?P<{p}note>[^)]*)\))?"
_ITEM = re.compile(r"(?:^|\n)\s*([" + _NUMERALS + r"]{1,3})、([^:\n]{1,30}):")
_RANGE = re.compile(_DATE.format(p="a") + r"(?:至" + _DATE.format(p="b") + r")?放假")
_ONE_DATE = re.compile(_DATE.format(p="a"))
_COUNT = re.compile(r"共(\d+)天|放假(\d+)天")
_YEAR = re.compile(r"(\d{4})年(?:部分)?节假日安排|现将(\d{4})年")
_WEEKDAY = re.compile(r"(?:周|星期)([一二三四五六日天])")


@attrs.frozen
class NoticeItem:
    """One festival of a notice: its days off and make-up working days, and the sentences they came from."""

    festival: str
    days_off: tuple[dt.date, ...]
    workdays: tuple[dt.date, ...]


def _normalized(text: str) -> str:
    """Full-width digits and punctuation as ASCII (NFKC), Traditional structure characters as Simplified."""
    return unicodedata.normalize("NFKC", text).translate(_SIMPLIFIED).replace("\r\n", "\n")


def _festivals(name: str, sentence: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in name.split("、"))
    unknown = [n for n in names if n not in FESTIVALS]
    if unknown:
        raise CalendarError.of(Message("festival in {sentence!r}",
                                       sentence=sentence), unknown[0], Message("one of {0}", list(FESTIVALS)))
    return names


def _date(match: re.Match[str], p: str, year: int, month: int | None, sentence: str) -> dt.date:
    y = int(match.group(f"{p}y") or year)
    m = match.group(f"{p}m")
    if m is None and month is None:
        raise CalendarError.of(Message("date in {sentence!r}",
                                       sentence=sentence), match.group(0), "a date with its month ('1月28日')")
    try:
        day = dt.date(y, int(m) if m is not None else month, int(match.group(f"{p}d")))  # type: ignore[arg-type]
    except ValueError:
        raise CalendarError.of(Message("date in {sentence!r}",
                                       sentence=sentence), match.group(0), "a real calendar date") from None
    weekday = _WEEKDAY.search(match.group(f"{p}note") or "")
    if weekday is not None and _WEEKDAYS[weekday.group(1)] != day.weekday():
        raise CalendarError.of(Message("weekday in {sentence!r}", sentence=sentence), match.group(0),
                               Message("the weekday of {0} ({1})", day.isoformat(), '一二三四五六日'[day.weekday()]))
    if day.year != year:
        raise CalendarError.of(Message("date in {sentence!r}", sentence=sentence), day.isoformat(),
                               Message("a date of {year}, the notice's year", year=year))
    return day


def _item(festival: str, body: str, year: int) -> NoticeItem:
    days_off: list[dt.date] = []
    workdays: list[dt.date] = []
    no_makeup = False
    for raw in (s.strip() for s in body.split("。")):
        if not raw:
            continue
        sentence = f"{festival}:{raw}"  # errors name the item and its sentence
        off = _RANGE.search(sentence)
        if off is not None and not days_off:
            first = _date(off, "a", year, None, sentence)
            last = _date(off, "b", year, first.month, sentence) if off.group("bd") else first
            if last < first:
                raise CalendarError.of(Message("range in {sentence!r}",
                                               sentence=sentence), off.group(0), "a last day not before the first")
            days_off = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
            count = _COUNT.search(sentence)
            if count is not None and int(count.group(1) or count.group(2)) != len(days_off):
                raise CalendarError.of(Message("day count in {sentence!r}", sentence=sentence), count.group(0),
                                       Message("the {0} days from {1} to {2}",
                                               len(days_off), first.isoformat(), last.isoformat()))
            no_makeup = "不调休" in sentence
            rest = sentence[off.end():]
            if "上班" in rest:
                workdays += _workdays(rest, year)
        elif "上班" in sentence and re.search(r"\d日", sentence.split("上班")[0]):
            workdays += _workdays(sentence, year)
    if not days_off:
        raise CalendarError.of(Message("item {festival!r}", festival=festival), body.strip()[:60], "days off ('…放假')")
    if no_makeup and workdays:
        raise CalendarError.of(Message("item {festival!r}",
                                       festival=festival), body.strip()[:60], "no make-up working day (it says 不调休)")
    return NoticeItem(festival=festival, days_off=tuple(days_off), workdays=tuple(workdays))


def _workdays(sentence: str, year: int) -> list[dt.date]:
    """The dates before "上班" in a sentence (a month carries to the dates after it)."""
    head = sentence.split("上班")[0]
    out: list[dt.date] = []
    month = None
    for match in _ONE_DATE.finditer(head):
        day = _date(match, "a", year, month, sentence)
        month = day.month
        if day.weekday() < 5:
            raise CalendarError.of(Message("make-up working day in {sentence!r}", sentence=sentence), day.isoformat(),
                                   "a Saturday or Sunday (a weekday is a working day anyway)")
        out.append(day)
    return out


def parse_notice_text(text: str) -> tuple[int, tuple[NoticeItem, ...]]:
    """The year of a notice and its items, checked; see the module's documentation."""
    if not isinstance(text, str):
        raise CalendarError.of("notice text", type(text).__name__, "the notice's text (str)")
    body = _normalized(text)
    year_match = _YEAR.search(body)
    if year_match is None:
        raise CalendarError.of("notice", body.strip()[:40], "a notice naming its year ('2027年部分节假日安排')")
    year = int(year_match.group(1) or year_match.group(2))
    starts = list(_ITEM.finditer(body))
    if not starts:
        raise CalendarError.of("notice", body.strip()[:40], "numbered items ('一、元旦:1月1日放假…')")
    items = []
    for k, start in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(body)
        text_of_item = body[start.end():end].split("\n\n")[0].split("\n节假日期间")[0]
        names = _festivals(start.group(2), start.group(0).strip() + text_of_item.split("。")[0])
        item = _item("、".join(names), text_of_item, year)
        items.append(item)
    seen: dict[dt.date, str] = {}
    for item in items:
        for day in item.days_off:
            if day in seen:
                raise CalendarError.of(Message("day off of {festival!r}", festival=item.festival), day.isoformat(),
                                       Message("a day no other item ({0!r}) gives", seen[day]))
            seen[day] = item.festival
    return year, tuple(items)


def notice_arrangement(items: tuple[NoticeItem, ...]) -> tuple[tuple[dt.date, ...], tuple[dt.date, ...]]:
    """(days off, make-up working days) of the items, sorted."""
    return (tuple(sorted(d for i in items for d in i.days_off)), tuple(sorted(d for i in items for d in i.workdays)))


def differing_days(year: int, arrangement: tuple[tuple[dt.date, ...], tuple[dt.date, ...]],
                   official: Mapping[dt.date, bool]) -> list[dt.date]:
    """The days of ``year`` whose working-day status under ``arrangement`` differs from ``official`` (date →
    working), the latter covering every day of the year."""
    off, work = set(arrangement[0]), set(arrangement[1])
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        working = day in work or (day.weekday() < 5 and day not in off)
        if official.get(day, working) != working:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def notice_toml(notice: CalendarNotice) -> str:
    """A notice as the TOML notice file a policy loads (``[calendar] notice = "2027.toml"``)."""
    lines = [f"published_through = {notice.published_through}" if notice.published_through else ""]
    for year, (days_off, workdays) in sorted(notice.notices.items()):
        lines += ["", f"[notice.{year}]",
                  "holidays = [" + ", ".join(f'"{d.isoformat()}"' for d in days_off) + "]",
                  "workdays = [" + ", ".join(f'"{d.isoformat()}"' for d in workdays) + "]"]
    return "\n".join(lines).lstrip("\n") + "\n"


def month_grid(calendar: WorkingCalendar, year: int, lang: str) -> str:
    """The year's working days as twelve month grids, Monday first: a day off in brackets, a make-up working
    day (a Saturday or Sunday worked) starred."""
    head = label("calendar.weekdays", lang).split()
    out = [label("calendar.title", lang).format(year=year), label("calendar.legend", lang), ""]
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        out.append(label("calendar.month", lang).format(year=year, month=month))
        out.append(" ".join(f"{h:>4}" for h in head))
        cells = ["    "] * first.weekday()
        day = first
        while day.month == month:
            working = calendar.is_working_day(day)
            if not working:
                cells.append(f"[{day.day:>2}]")
            elif day.weekday() >= 5:
                cells.append(f" {day.day:>2}*")
            else:
                cells.append(f" {day.day:>2} ")
            day += dt.timedelta(days=1)
        out += [" ".join(cells[k:k + 7]).rstrip() for k in range(0, len(cells), 7)]
        out.append("")
    return "\n".join(out)
