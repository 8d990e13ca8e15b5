/**
 * The calendar the import benchmark (`lab/bench/import-bench.ts`) imports, the store's
 * in-process benchmark too (`lab/bench/store-bench.ts --import-series`), and the calendar
 * parser's test reads: `count` yearly series spread over the year, 60 % all-day birthdays
 * and anniversaries, 40 % yearly meetings timed in four zones with their VTIMEZONEs, each
 * with a UID and an alarm, as Apple Calendar writes them. Kept here, where all of them reach
 * it (the server may not import the lab); deterministic for a given `count` and `year`.
 */

/** IANA zones of the timed series: standard and daylight offsets, names and switch rules. */
const ZONES: Record<string, string[]> = {
  'Europe/Madrid': ['+0100', '+0200', 'CET', 'CEST', '-1SU', '3', '-1SU', '10'],
  'America/New_York': ['-0500', '-0400', 'EST', 'EDT', '2SU', '3', '1SU', '11'],
  'Asia/Tokyo': ['+0900', '+0900', 'JST', 'JST', '', '', '', ''],
  'Australia/Sydney': ['+1000', '+1100', 'AEST', 'AEDT', '1SU', '10', '1SU', '4'],
};

function vtimezone(zone: string): string[] {
  const [std, dst, stdName, dstName, dstDay, dstMonth, stdDay, stdMonth] = ZONES[zone] ?? [];
  if (dstDay === '') {
    return [
      'BEGIN:VTIMEZONE',
      `TZID:${zone}`,
      'BEGIN:STANDARD',
      `TZOFFSETFROM:${std}`,
      `TZOFFSETTO:${std}`,
      `TZNAME:${stdName}`,
      'DTSTART:19700101T000000',
      'END:STANDARD',
      'END:VTIMEZONE',
    ];
  }
  return [
    'BEGIN:VTIMEZONE',
    `TZID:${zone}`,
    'BEGIN:DAYLIGHT',
    `TZOFFSETFROM:${std}`,
    `TZOFFSETTO:${dst}`,
    `TZNAME:${dstName}`,
    'DTSTART:19700308T020000',
    `RRULE:FREQ=YEARLY;BYMONTH=${dstMonth};BYDAY=${dstDay}`,
    'END:DAYLIGHT',
    'BEGIN:STANDARD',
    `TZOFFSETFROM:${dst}`,
    `TZOFFSETTO:${std}`,
    `TZNAME:${stdName}`,
    'DTSTART:19701101T020000',
    `RRULE:FREQ=YEARLY;BYMONTH=${stdMonth};BYDAY=${stdDay}`,
    'END:STANDARD',
    'END:VTIMEZONE',
  ];
}

/** A calendar of `count` yearly series starting in `year` (see the module comment). */
export function yearlySeriesCalendar(count: number, year: number): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Apple Inc.//macOS 14.5//EN',
    'CALSCALE:GREGORIAN',
    'X-WR-CALNAME:Birthdays and yearly meetings',
    ...Object.keys(ZONES).flatMap(vtimezone),
  ];
  const zones = Object.keys(ZONES);
  for (let i = 0; i < count; i++) {
    const day = new Date(Date.UTC(year, 0, 1 + ((i * 7919) % 365)));
    const date = day.toISOString().slice(0, 10).replaceAll('-', '');
    const next = new Date(day.getTime() + 86_400_000)
      .toISOString()
      .slice(0, 10)
      .replaceAll('-', '');
    lines.push(
      'BEGIN:VEVENT',
      `UID:${(0x10000000 + i * 2654435761) % 2 ** 32}-bench-${i}@example.com`,
    );
    if (i % 5 < 3) {
      lines.push(
        `DTSTART;VALUE=DATE:${date}`,
        `DTEND;VALUE=DATE:${next}`,
        `SUMMARY:${i % 2 === 0 ? 'Birthday' : 'Anniversary'} of person ${i}`,
        'TRANSP:TRANSPARENT',
      );
    } else {
      const zone = zones[i % zones.length] ?? 'Europe/Madrid';
      const hour = String(8 + (i % 10)).padStart(2, '0');
      lines.push(
        `DTSTART;TZID=${zone}:${date}T${hour}0000`,
        `DTEND;TZID=${zone}:${date}T${hour}4500`,
        `SUMMARY:Yearly review ${i}`,
        `LOCATION:Room ${i % 40}`,
        'DESCRIPTION:The yearly review of the project\\, with the numbers of the year and',
        '  the plan for the next one.',
      );
    }
    lines.push(
      'RRULE:FREQ=YEARLY',
      'DTSTAMP:20250101T000000Z',
      'SEQUENCE:0',
      'BEGIN:VALARM',
      'ACTION:DISPLAY',
      'TRIGGER:-PT15M',
      'DESCRIPTION:Reminder',
      'END:VALARM',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return lines.join('\r\n') + '\r\n';
}
