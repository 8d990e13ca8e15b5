#!/usr/bin/python3
"""
An independent expander for test/ics-oracle.test.ts: Debian's python3-recurring-ical-events
(with python3-icalendar, pytz and dateutil), none of which shares code with our import
(ical.js) or our expander (server/domain/recurrence.ts).

    expand_ics.py FILE FROM TO [ZONE]     one file; FROM and TO are UTC instants (ISO 8601)
    expand_ics.py --batch < jobs.json      [{"file", "from", "to", "zone"}, ...]

prints JSON: for each file, each UID's occurrences in [FROM, TO) as recurring_ical_events
gives them, or the error that UID's components raised:

    {"file": ..., "uids": {UID: {"occurrences": [{"recurrenceId", "start", "end", "allDay",
                                                   "summary"}, ...]} | {"error": ...}}}

start and end are UTC instants (`2025-03-10T13:00:00Z`) for times and dates (`2025-03-10`)
for all-day occurrences; a floating time (no TZID, no Z) is read in ZONE, as our import reads
it in its default zone. Occurrences with STATUS:CANCELLED are left out (recurring_ical_events
returns them, marked): a cancelled instance is absent.

Only what is needed to hand the library a file is done here, never any expansion:
- the bytes are read as UTF-8, or as Windows-1252 when they are not UTF-8 (Outlook);
- line ends are made CRLF (iCal 1.5 wrote bare CRs, which icalendar cannot unfold);
- each UID is expanded on its own, with the VTIMEZONEs its components name, so that one the
  library cannot read costs that UID alone, as our import skips one bad event and keeps the
  rest;
- icalendar's cache of VTIMEZONE definitions (keyed by TZID, process-wide) is cleared
  between files, as two files may define one TZID differently.
"""
import datetime
import json
import re
import sys
import zoneinfo

try:
    import icalendar
    import icalendar.timezone_cache
    import recurring_ical_events
except ImportError as error:  # pragma: no cover - the test says what to install
    sys.stderr.write(
        f"{error}: install Debian's python3-recurring-ical-events "
        "(apt-get install python3-recurring-ical-events)\n"
    )
    sys.exit(3)


def read_text(path):
    data = open(path, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    if text.startswith("\ufeff"):
        text = text[1:]
    return re.sub(r"\r\n|\r|\n", "\r\n", text)


def instant(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc
    )


def written(value, zone):
    """A date as `YYYY-MM-DD`; a time as its UTC instant, a floating one read in `zone`."""
    if not isinstance(value, datetime.datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def components_by_uid(text):
    """The file's VTIMEZONEs by TZID, and its VEVENTs' raw texts by UID, in file order."""
    zones = {}
    for block in re.findall(r"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", text, re.S):
        match = re.search(r"^TZID(?:;[^:\r\n]*)?:([^\r\n]*)", block, re.M)
        zones[match.group(1) if match else ""] = block
    events = {}
    for block in re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, re.S):
        unfolded = re.sub(r"\r\n[ \t]", "", block)
        match = re.search(r"^UID(?:;[^:\r\n]*)?:([^\r\n]*)", unfolded, re.M)
        uid = match.group(1) if match else ""
        events.setdefault(uid, []).append(block)
    return zones, events


def header(text):
    """The VCALENDAR's own lines (PRODID, X-WR-TIMEZONE, ...), up to its first component."""
    first = re.search(r"^BEGIN:(?!VCALENDAR)", text, re.M)
    return text[: first.start()] if first else text


def expand(path, start, stop, zone_name):
    zone = zoneinfo.ZoneInfo(zone_name)
    text = read_text(path)
    icalendar.timezone_cache._timezone_cache.clear()
    zones, events = components_by_uid(text)
    head = header(text)
    uids = {}
    for uid, blocks in events.items():
        used = set()
        for block in blocks:
            unfolded = re.sub(r"\r\n[ \t]", "", block)
            used.update(t.strip('"') for t in re.findall(r";TZID=(\"[^\"]*\"|[^;:]*)", unfolded))
        needed = [zone for tzid, zone in zones.items() if tzid in used]
        one = head + "".join(needed) + "".join(blocks) + "END:VCALENDAR\r\n"
        try:
            calendar = icalendar.Calendar.from_ical(one)
            found = []
            for event in recurring_ical_events.of(calendar).between(start, stop):
                if str(event.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                begin = event["DTSTART"].dt
                end = event["DTEND"].dt if "DTEND" in event else begin
                rid = event.get("RECURRENCE-ID")
                found.append(
                    {
                        "recurrenceId": None if rid is None else written(rid.dt, zone),
                        "start": written(begin, zone),
                        "end": written(end, zone),
                        "allDay": not isinstance(begin, datetime.datetime),
                        "summary": str(event.get("SUMMARY", "")),
                    }
                )
            found.sort(key=lambda o: (o["start"], o["end"]))
            uids[uid] = {"occurrences": found}
        except Exception as error:  # noqa: BLE001 - reported per UID, as our import does
            uids[uid] = {"error": f"{type(error).__name__}: {error}"}
        finally:
            icalendar.timezone_cache._timezone_cache.clear()
    return {"file": path, "uids": uids}


def main(argv):
    if argv[1:2] == ["--batch"]:
        jobs = json.load(sys.stdin)
    elif len(argv) in (4, 5):
        jobs = [{"file": argv[1], "from": argv[2], "to": argv[3], "zone": (argv + ["UTC"])[4]}]
    else:
        sys.stderr.write(__doc__)
        return 2
    results = [
        expand(job["file"], instant(job["from"]), instant(job["to"]), job.get("zone", "UTC"))
        for job in jobs
    ]
    json.dump(results if argv[1:2] == ["--batch"] else results[0], sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
