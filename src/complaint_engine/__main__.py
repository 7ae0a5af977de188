"""``python -m complaint_engine demo | lifecycle``."""

from __future__ import annotations

import argparse
import sys

from complaint_engine.demo import format_register, run_scripted_day
from complaint_engine.lifecycle import render_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m complaint_engine")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a scripted day at an estate and print the register")
    demo.add_argument("--show-personal-data", action="store_true", help="print owners' names unmasked")
    sub.add_parser("lifecycle", help="print docs/lifecycle.md, generated from the transition tables")
    args = parser.parse_args(argv)
    if args.command == "lifecycle":
        sys.stdout.write(render_markdown())
        return 0
    desk = run_scripted_day()
    complaints = desk.find()
    print("投訴登記表 — complaint register, office A\n")
    print(format_register(complaints, show_personal_data=args.show_personal_data))
    capas = desk.repository.find_capas()
    announcements = desk.repository.find_announcements()
    print(f"\n{len(complaints)} complaints, {sum(c.serial is not None for c in complaints)} registered, "
          f"{len(capas)} CAPA report(s): {', '.join(r.number for r in capas)}; "
          f"{len(announcements)} announcement(s): {', '.join(a.number for a in announcements)}")
    overdue = desk.overdue()
    print(f"running clocks past due now: {len(overdue)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
