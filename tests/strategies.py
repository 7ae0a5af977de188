"""Hypothesis strategies for domain objects, built through the real desk so every object is reachable."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st
from tests.conftest import CALLBACK, MANAGER, MONDAY, RECEPTION, TECH

import complaint_engine as ce

HAPPY_PATH = ["register", "dispatch", "work", "resolve", "reply", "callback", "close"]
# text that has broken stores before: quotes, SQL, backslashes, NUL-free control characters, CJK, emoji
nasty_text = st.one_of(
    st.sampled_from(["O'Brien", 'say "hi"', "'); DROP TABLE complaints; --", "a\\b", "陳先生", "🏠 3-1201",
                     "line\nbreak", "tab\tch"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
            max_size=30).filter(str.strip),
)


@st.composite
def complaints(draw: st.DrawFn, office_actor: ce.Actor = RECEPTION) -> ce.Complaint:
    """A complaint taken a random way along the procedure (possibly referred, paused, dissatisfied...)."""
    clock = ce.FixedClock(MONDAY + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 400))))
    desk = ce.ComplaintDesk(clock=clock)
    category = draw(st.sampled_from(["noise", "repair", "fees", "cleaning"]))
    c = desk.receive(by=office_actor, owner=draw(nasty_text), unit=draw(nasty_text),
                     channel=draw(st.sampled_from(list(ce.Channel))), category=category, summary=draw(nasty_text),
                     urgency=draw(st.sampled_from(["minor", "emergency"])) if category == "repair" else None,
                     relayed_by=draw(st.one_of(st.none(), nasty_text)),
                     attachments=draw(st.lists(nasty_text, max_size=2)))
    if draw(st.integers(0, 9)) == 9:  # hypothesis leans to small integers: 9 keeps referrals rare
        return desk.refer(c.id, by=office_actor, reason=draw(nasty_text), referred_to=draw(nasty_text))
    for step in HAPPY_PATH[:draw(st.integers(0, len(HAPPY_PATH)))]:
        clock.advance(minutes=draw(st.integers(0, 3000)))
        if step == "register":
            c = desk.register(c.id, by=office_actor)
        elif step == "dispatch":
            desk.dispatch(c.id, by=office_actor, assignee=TECH.id)
        elif step == "work":
            c = desk.record_arrival(c.id, by=TECH) if c.is_repair else desk.start(c.id, by=MANAGER)
            if draw(st.booleans()):
                c = desk.pause(c.id, by=TECH, reason=draw(nasty_text))
                clock.advance(minutes=draw(st.integers(0, 600)))
                c = desk.resume(c.id, by=TECH)
        elif step == "resolve":
            c = desk.resolve(c.id, by=MANAGER, result=draw(nasty_text))
        elif step == "reply":
            c = desk.reply(c.id, by=office_actor, note=draw(st.one_of(st.none(), nasty_text)))
        elif step == "callback":
            c = desk.record_callback(c.id, by=CALLBACK, method=draw(st.sampled_from(list(ce.CallbackMethod))),
                                     satisfaction=draw(st.sampled_from(list(ce.Satisfaction))),
                                     opinion=draw(st.one_of(st.none(), nasty_text)))
            if c.status is not ce.Status.CALLED_BACK:
                break
        elif step == "close":
            c = desk.close(c.id, by=CALLBACK)
    desk.sweep()
    return desk.get(c.id)
