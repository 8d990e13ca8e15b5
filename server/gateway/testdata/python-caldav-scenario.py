"""
The python3-caldav side of server/gateway/caldav.client.test.ts: a real CalDAV client
(Debian's python3-caldav) against a gateway, signing in with a device's app password.
It prints one JSON object of what it saw; the test judges it.

    python3 python-caldav-scenario.py read|refused
    env: DAV_URL DAV_USERNAME DAV_PASSWORD DAV_CA DAV_FROM DAV_TO
"""
import datetime
import json
import os
import sys

import caldav
from caldav.lib import error


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


main()
