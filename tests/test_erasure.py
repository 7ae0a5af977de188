"""erase_person (#20 item 7): a person's data pseudonymised in every record, nothing else lost, no byte left."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.conftest import CALLBACK, GM, MANAGER, MONDAY, RECEPTION, TECH
from tests.storage.conftest import BACKENDS, make_repository

import complaint_engine as ce
from complaint_engine.audit import audit
from complaint_engine.serialization import to_dict
from complaint_engine.storage import SQLiteRepository

NAME, UNIT, PHONE = "陳大文", "7-0808", "13800138000"


def _desk(repository: object) -> tuple[ce.ComplaintDesk, ce.FixedClock]:
    clock = ce.FixedClock(MONDAY)
    return ce.ComplaintDesk(repository=repository, clock=clock), clock  # type: ignore[arg-type]


def _history_of_the_person(desk: ce.ComplaintDesk, clock: ce.FixedClock) -> list[str]:
    """Two complaints of the person (one handled in full with their words everywhere), one of a neighbour."""
    ids = []
    # a long first summary: its document spans overflow pages, which the erasure frees and rewrites
    for summary in (f"{NAME}:樓上深夜裝修,請致電 {PHONE}。" + "噪音持續到凌晨。" * 400 + NAME, "電梯故障"):
        c = desk.receive(by=RECEPTION, owner=NAME, unit=UNIT, channel="phone", category="noise",
                         summary=summary, attachments=(f"rec://{PHONE}.wav",))
        ids.append(c.id)
    first = ids[0]
    desk.register(first, by=RECEPTION)
    desk.dispatch(first, by=RECEPTION, assignee=TECH.id)
    desk.start(first, by=MANAGER)
    desk.inform(first, by=RECEPTION, note=f"已致電 {PHONE} 告知{NAME}進度")
    clock.advance(hours=3)
    desk.resolve(first, by=MANAGER, result=f"已與 {UNIT} 樓上住戶溝通")
    desk.reply(first, by=RECEPTION, note=f"{NAME}表示收到")
    desk.record_callback(first, by=CALLBACK, method="phone", satisfaction="satisfied",
                         opinion=f"{NAME}滿意,電話 {PHONE}")
    desk.close(first, by=CALLBACK)
    desk.receive(by=RECEPTION, owner="林小美", unit="7-0909", channel="phone", category="noise",
                 summary="同一層噪音")
    return ids


@pytest.mark.parametrize("backend", BACKENDS)
def test_erasing_a_person_pseudonymises_every_record_and_keeps_the_register(backend: str, tmp_path: Path) -> None:
    repo = make_repository(backend, tmp_path)
    try:
        desk, clock = _desk(repo)
        ids = _history_of_the_person(desk, clock)
        before = {c.id: c for c in desk.find()}
        clock.advance(days=2)
        erased = desk.erase_person(by=GM, owner=NAME, unit=UNIT, phones=[PHONE], reason=f"依法刪除 {NAME} 的資料")
        assert sorted(c.id for c in erased) == sorted(ids)
        for c in desk.find():
            if c.id not in ids:
                assert c.owner == "林小美"  # the neighbour untouched
                continue
            document = repr(to_dict(c))
            for secret in (NAME, UNIT, PHONE):
                assert secret not in document, secret
            old = before[c.id]
            assert (c.serial, c.received_at, c.category, c.status, c.office) == (
                old.serial, old.received_at, old.category, old.status, old.office)
            assert c.deadlines.keys() == old.deadlines.keys()
            assert c.unit.startswith("7-")  # the building stays: the analysis by building counts it
            assert c.history[-1].event == "erase"
        assert len({c.owner for c in erased}) == 1  # one pseudonym: the person's complaints still group
        assert desk.find(owner=NAME) == []
        assert desk.find(unit=UNIT) == []
        assert audit(repo) == []  # the erasure is a recorded step the audit accepts
        kinds = [e.kind for e in desk.events()]
        assert kinds.count("complaint.erased") == 2
    finally:
        repo.close()  # type: ignore[attr-defined]


def test_erasure_leaves_no_byte_of_the_person_in_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "register.sqlite"
    repo = SQLiteRepository(path)
    desk, clock = _desk(repo)
    ids = _history_of_the_person(desk, clock)
    # the person's documents as stored (packed: their texts are not in the file as plain bytes); a stretch of
    # each is looked for in the files afterwards, as the plain texts are
    packed = [bytes(doc)[8:40] for (doc,) in repo._conn.execute(
        f"SELECT doc FROM complaints WHERE id IN ({', '.join('?' for _ in ids)})", ids)]
    assert len(packed) == len(ids)
    repo._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert all(stretch in path.read_bytes() for stretch in packed)  # there before the erasure
    clock.advance(days=1)
    desk.erase_person(by=GM, owner=NAME, unit=UNIT, phones=[PHONE], reason="依法刪除")
    files = [p for p in tmp_path.iterdir() if p.name.startswith("register.sqlite")]
    for secret in (NAME.encode(), UNIT.encode(), PHONE.encode(), *packed):
        for f in files:
            assert secret not in f.read_bytes(), (secret, f.name)
    assert audit(repo) == []
    repo.close()
    for f in tmp_path.iterdir():  # and after closing, the files as they rest on disk
        for secret in (NAME, UNIT, PHONE):
            assert secret.encode() not in f.read_bytes(), (secret, f.name)


def test_only_the_policys_roles_erase_and_an_unknown_person_is_not_found() -> None:
    desk, clock = _desk(None)
    _history_of_the_person(desk, clock)
    with pytest.raises(ce.PermissionDenied):
        desk.erase_person(by=RECEPTION, owner=NAME, reason="r")
    assert all(c.owner != "" for c in desk.find())
    with pytest.raises(ce.NotFound) as missing:
        desk.erase_person(by=GM, owner="無此人", reason="r")
    assert "無此人" not in str(missing.value)  # the error names the office, never the person
    with pytest.raises(ce.ValidationError, match="an owner, a unit, or both"):
        desk.erase_person(by=GM, reason="r")
    assert [c.owner for c in desk.find()].count(NAME) == 2  # every refusal changed nothing
    clock.advance(minutes=1)
    assert isinstance(desk.erase_person(by=GM, unit=UNIT, reason="r", at=clock.now() - dt.timedelta(0)), tuple)
