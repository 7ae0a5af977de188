"""A SQL unit of work's CAPA reports and announcements: documents by number, versioned like complaints."""

from __future__ import annotations

from typing import TypeVar

from complaint_engine.errors import ConcurrencyError, NotFound, ValidationError
from complaint_engine.model import Announcement, CAPAReport, replace
from complaint_engine.serialization import from_document, to_document
from complaint_engine.storage.dbapi import Cursor, Params
from complaint_engine.storage.sql.statements import Dialect, as_int, as_str

__all__ = ["RecordStatements"]

R = TypeVar("R", CAPAReport, Announcement)


class RecordStatements:
    """Mixed into :class:`~complaint_engine.storage.sql.unit.SQLUnit`, which provides ``_execute``."""

    _dialect: Dialect

    def _execute(self, statement: str, args: Params = ()) -> Cursor:
        raise NotImplementedError  # the unit's

    def add_capa(self, report: CAPAReport) -> CAPAReport:
        if self._execute("INSERT INTO capas VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (report.number, report.office, report.version, to_document(report))).rowcount == 0:
            raise ValidationError.of("CAPA number", report.number, "a number not already stored")
        return report

    def get_capa(self, number: str) -> CAPAReport:
        row = self._execute("SELECT doc FROM capas WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound("CAPA report", number)
        return from_document(as_str(row[0]), CAPAReport, key=number)

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        saved = replace(report, {"version": report.version + 1})
        cur = self._execute("UPDATE capas SET version = ?, doc = ? WHERE number = ? AND version = ?",
                            (saved.version, to_document(saved), report.number, report.version))
        if cur.rowcount == 0:
            found = self._execute("SELECT version FROM capas WHERE number = ?", (report.number,)).fetchone()
            if found is None:
                raise NotFound("CAPA report", report.number)
            raise ConcurrencyError(report.number, expected=report.version, actual=as_int(found[0]))
        return saved

    def find_capas(self, *, office: str | None = None) -> list[CAPAReport]:
        return self._documents("capas", CAPAReport, office)

    def add_announcement(self, announcement: Announcement) -> Announcement:
        if self._execute("INSERT INTO announcements VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                         (announcement.number, announcement.office, to_document(announcement))).rowcount == 0:
            raise ValidationError.of("announcement number", announcement.number, "a number not already stored")
        return announcement

    def find_announcements(self, *, office: str | None = None) -> list[Announcement]:
        return self._documents("announcements", Announcement, office)

    def _documents(self, table: str, cls: type[R], office: str | None) -> list[R]:
        """The records of a numbered table (of one office), by number."""
        sql = f"SELECT number, doc FROM {table}"
        args: tuple[str, ...] = ()
        if office is not None:
            sql, args = sql + " WHERE office = ?", (office,)
        return [from_document(as_str(doc), cls, key=as_str(k))
                for k, doc in self._execute(f"{sql} ORDER BY number{self._dialect.by_code_point}", args)]
