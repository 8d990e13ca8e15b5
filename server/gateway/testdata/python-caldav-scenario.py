"""
The python3-caldav side of server/gateway/caldav.client.test.ts: a real CalDAV client
(Debian's python3-caldav) against a gateway, signing in with a device's app password.
It prints one JSON object of what it saw; the test judges it.

    python3 python-caldav-scenario.py read|write|sync|refused
    env: DAV_URL DAV_USERNAME DAV_PASSWORD DAV_CA DAV_FROM DAV_TO
"""
import datetime
import json
import os
import sys

import caldav
from caldav.elements import dav
from caldav.lib import error

NEW_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python-caldav scenario//EN
BEGIN:VEVENT
UID:%(uid)s
DTSTAMP:20260301T120000Z
DTSTART:%(start)s
DTEND:%(end)s
SUMMARY:%(summary)s
END:VEVENT
END:VCALENDAR
"""


def summary(event):
    return str(event.vobject_instance.vevent.summary.value)


def main():
    client = caldav.DAVClient(
        url=os.environ["DAV_URL"],
        username=os.environ["DAV_USERNAME"],
        password=os.environ["DAV_PASSWORD"],
        ssl_verify_cert=os.environ["DAV_CA"],
    )
    mode = sys.argv[1]
    if mode == "refused":
        try:
            client.principal()
        except error.AuthorizationError:
            print(json.dumps({"refused": True}))
            return
        print(json.dumps({"refused": False}))
        return

    if mode == "write":
        write(client)
        return
    if mode == "sync":
        sync(client)
        return

    principal = client.principal()
    calendars = principal.calendars()
    calendar = calendars[0]
    start = datetime.datetime.fromisoformat(os.environ["DAV_FROM"])
    end = datetime.datetime.fromisoformat(os.environ["DAV_TO"])
    week = calendar.date_search(start=start, end=end, expand=False)
    expanded = calendar.date_search(start=start, end=end, expand=True)
    everything = calendar.events()
    one = calendar.event_by_url(week[0].url)
    one.load()
    fetched = calendar.calendar_multiget([e.url for e in everything])
    print(
        json.dumps(
            {
                "principal": str(principal.url),
                "calendars": [str(c.url) for c in calendars],
                "name": calendar.get_display_name(),
                "components": calendar.get_supported_components(),
                "week": sorted(summary(e) for e in week),
                "expanded": sorted(
                    "%s x%d" % (summary(e), len(e.vobject_instance.vevent_list))
                    for e in expanded
                ),
                "all": sorted(summary(e) for e in everything),
                "read": {
                    "url": str(one.url),
                    "summary": summary(one),
                    "etag": one.props.get("{DAV:}getetag"),
                    "data": one.data,
                },
                "multiget": sorted(summary(e) for e in fetched),
            }
        )
    )


def etag_of(event):
    return event.get_property(dav.GetEtag())


def write(client):
    """Creates an event, changes it (plainly, then over its ETag), deletes it, reads back."""
    calendar = client.principal().calendars()[0]
    seen = {}
    made = calendar.save_event(
        NEW_EVENT
        % {
            "uid": "py-1@example.com",
            "start": "20260305T150000Z",
            "end": "20260305T160000Z",
            "summary": "Haircut",
        }
    )
    seen["created_url"] = str(made.url)
    read = calendar.event_by_url(made.url)
    read.load()
    seen["created"] = summary(read)
    first_tag = etag_of(read)
    seen["first_tag"] = first_tag

    # Edited in the client and saved back: a PUT without conditions.
    read.vobject_instance.vevent.summary.value = "Haircut (short)"
    read.save()
    again = calendar.event_by_url(made.url)
    again.load()
    seen["updated"] = summary(again)
    second_tag = etag_of(again)
    seen["second_tag"] = second_tag

    # Over its ETag, as careful clients write: the current tag passes, the old one fails.
    text = again.data.replace("Haircut (short)", "Haircut (shorter)")
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    ok = client.put(made.url, text, dict(headers, **{"If-Match": second_tag}))
    seen["if_match"] = ok.status
    stale = client.put(made.url, text, dict(headers, **{"If-Match": second_tag}))
    seen["stale_if_match"] = stale.status
    exists = client.put(made.url, text, dict(headers, **{"If-None-Match": "*"}))
    seen["if_none_match"] = exists.status

    # Hostile or wrong bodies: refused with a reason, never stored.
    base = str(calendar.url)
    todo = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nUID:t1\nSUMMARY:Task\nEND:VTODO\nEND:VCALENDAR\n"
    two = NEW_EVENT % {
        "uid": "a",
        "start": "20260306T090000Z",
        "end": "20260306T100000Z",
        "summary": "A",
    } + NEW_EVENT % {"uid": "b", "start": "20260307T090000Z", "end": "20260307T100000Z", "summary": "B"}
    two = two.replace("END:VCALENDAR\nBEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//python-caldav scenario//EN\n", "")
    misnamed = NEW_EVENT % {
        "uid": "py-3",
        "start": "20260306T110000Z",
        "end": "20260306T120000Z",
        "summary": "Misnamed",
    }
    refusals = {}
    for name, path, body in [
        ("garbage", "g.ics", "not a calendar at all"),
        ("todo", "t1.ics", todo),
        ("two", "a.ics", two),
    ]:
        try:
            answer = client.put(base + path, body, headers)
            refusals[name] = [answer.status, str(answer.raw)]
        except error.AuthorizationError:
            # The client raises on 403 rather than answering it.
            refusals[name] = [403, ""]
    seen["refusals"] = refusals

    # A new event written to a name that is not its UID's is sent there (308), and the
    # client follows with the same PUT.
    redirected = client.put(base + "other.ics", misnamed, headers)
    seen["misnamed"] = redirected.status
    there = calendar.event_by_url(base + "py-3.ics")
    there.load()
    seen["misnamed_at_uid"] = summary(there)
    try:
        calendar.event_by_url(base + "other.ics").load()
        seen["misnamed_at_name"] = True
    except error.NotFoundError:
        seen["misnamed_at_name"] = False

    # What the calendar's rules refuse: an event over the haircut.
    try:
        calendar.save_event(
            NEW_EVENT
            % {
                "uid": "py-2@example.com",
                "start": "20260305T153000Z",
                "end": "20260305T170000Z",
                "summary": "Overlapping",
            }
        )
        seen["conflict"] = None
    except error.PutError as refused:
        seen["conflict"] = str(refused)

    # Deleted: gone from the calendar.
    again.delete()
    try:
        calendar.event_by_url(made.url).load()
        seen["deleted"] = False
    except error.NotFoundError:
        seen["deleted"] = True
    seen["left"] = sorted(summary(e) for e in calendar.events())
    print(json.dumps(seen))


def sync(client):
    """Syncs by token (RFC 6578) as python-caldav does: everything, nothing new, then each change."""
    calendar = client.principal().calendars()[0]
    seen = {}
    collection = calendar.objects_by_sync_token(sync_token=None, load_objects=True)
    seen["initial"] = sorted(summary(o) for o in collection)
    seen["token"] = collection.sync_token
    seen["property"] = calendar.get_property(dav.SyncToken())
    quiet = calendar.objects_by_sync_token(sync_token=collection.sync_token, load_objects=False)
    seen["quiet"] = [str(o.url) for o in quiet]
    seen["quiet_token"] = quiet.sync_token

    def changes():
        updated, deleted = collection.sync()
        return {
            "updated": sorted(summary(o) for o in updated),
            "deleted": sorted(str(o.url) for o in deleted),
            "token": collection.sync_token,
        }

    made = calendar.save_event(
        NEW_EVENT
        % {
            "uid": "py-sync@example.com",
            "start": "20260306T070000Z",
            "end": "20260306T080000Z",
            "summary": "Yoga",
        }
    )
    seen["made_url"] = str(made.url)
    seen["after_create"] = changes()
    made.load()
    made.vobject_instance.vevent.summary.value = "Yoga (moved)"
    made.save()
    seen["after_update"] = changes()
    made.delete()
    seen["after_delete"] = changes()
    seen["after_nothing"] = changes()
    seen["final"] = sorted(summary(o) for o in collection)
    try:
        calendar.objects_by_sync_token(sync_token="https://agenda.invalid/sync/999999999")
        seen["stale"] = None
    except Exception as refused:
        seen["stale"] = "%s: %s" % (type(refused).__name__, refused)
    print(json.dumps(seen))


main()
