/**
 * The DAV XML reader reads what CalDAV clients send and refuses, cheaply and with a reason,
 * what no client needs: DTDs and so every entity but XML's five, processing instructions,
 * deep nesting, too many elements or attributes, bodies past the limit, malformed markup.
 */
import test from 'ava';
import {
  CALDAV_NS,
  DAV_NS,
  escapeXml,
  escapeXmlText,
  multistatusParts,
  parseXml,
  XML_LIMITS,
  type DavResponse,
  type XmlElement,
} from './dav-xml.js';

/** A whole multistatus, its parts joined. */
const multistatus = (responses: Iterable<DavResponse>) => [...multistatusParts(responses)].join('');

const refusal = (text: string) => {
  try {
    parseXml(text);
  } catch (error) {
    return error instanceof Error
      ? { code: (error as { code?: string }).code, message: error.message }
      : null;
  }
  return null;
};

test('reads a calendar-query as python-caldav sends it: namespaces, attributes, text', (t) => {
  const root = parseXml(`<?xml version='1.0' encoding='utf-8'?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <!-- a comment -->
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20260302T000000Z" end="20260309T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`);
  t.is(root.namespace, CALDAV_NS);
  t.is(root.name, 'calendar-query');
  const prop = root.children[0] as XmlElement;
  t.deepEqual(
    prop.children.map((c) => `${c.namespace} ${c.name}`),
    [`${DAV_NS} getetag`, `${CALDAV_NS} calendar-data`],
  );
  const range = root.children[1]?.children[0]?.children[0]?.children[0];
  t.is(range?.attributes.get('start'), '20260302T000000Z');
  t.is(range?.attributes.get('end'), '20260309T000000Z');
});

test('default namespaces, CDATA, the five entities and character references are read', (t) => {
  const root = parseXml(
    '<propfind xmlns="DAV:"><prop><x:a xmlns:x="urn:x">&lt;&amp;&gt;&quot;&apos;&#65;&#x42;<![CDATA[<c>]]></x:a></prop></propfind>',
  );
  t.is(root.namespace, DAV_NS);
  const a = root.children[0]?.children[0];
  t.is(a?.namespace, 'urn:x');
  t.is(a?.text, `<&>"'AB<c>`);
});

test('a DTD is refused, so no entity can be declared or expanded (billion laughs, XXE)', (t) => {
  const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<propfind xmlns="DAV:">&lol2;</propfind>`;
  t.regex(refusal(laughs)?.message ?? '', /DTD\) is refused/);
  t.is(refusal(laughs)?.code, 'invalid');
  const xxe =
    '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:">&x;</d:propfind>';
  t.regex(refusal(xxe)?.message ?? '', /DTD/);
  t.regex(refusal('<a>&x;</a>')?.message ?? '', /entity &x; is not declared/);
  t.regex(refusal('<a>a & b</a>')?.message ?? '', /bare "&"/);
  t.regex(refusal('<a>&#0;</a>')?.message ?? '', /not a character XML allows/);
  t.regex(refusal('<a><!DOCTYPE x></a>')?.message ?? '', /declarations are refused/);
});

test('deep nesting, too many elements or attributes, and a body past the limit are refused', (t) => {
  const deep = '<a>'.repeat(XML_LIMITS.maxDepth + 1) + '</a>'.repeat(XML_LIMITS.maxDepth + 1);
  t.regex(refusal(deep)?.message ?? '', /nested deeper than 32/);
  const nested = '<a>'.repeat(XML_LIMITS.maxDepth) + '</a>'.repeat(XML_LIMITS.maxDepth);
  t.is(refusal(nested), null, 'as deep as allowed is read');
  const wide = `<a>${'<b/>'.repeat(XML_LIMITS.maxElements)}</a>`;
  t.regex(refusal(wide)?.message ?? '', /more than 2000 elements/);
  const attributes = Array.from({ length: XML_LIMITS.maxAttributes + 1 }, (_, i) => `a${i}="x"`);
  t.regex(refusal(`<a ${attributes.join(' ')}/>`)?.message ?? '', /more than 32 attributes/);
  const huge = `<a>${'x'.repeat(XML_LIMITS.maxLength)}</a>`;
  t.regex(refusal(huge)?.message ?? '', /longer than 65536 characters/);
  // A million unclosed elements is cut at the depth limit, not read to the end.
  t.regex(
    refusal('<a>'.repeat(1_000_000).slice(0, XML_LIMITS.maxLength))?.message ?? '',
    /nested deeper/,
  );
});

test('malformed markup is refused with where and why', (t) => {
  const cases: [string, RegExp][] = [
    ['', /expected the root element/],
    ['<a>', /not closed/],
    ['<a></b>', /<\/b> closes <a>/],
    ['<a/><b/>', /text after the root element/],
    ['<a b=c/>', /must be quoted/],
    ['<a b="1" b="2"/>', /repeated/],
    ['<x:a/>', /prefix x is not declared/],
    ['<a x:b="1"/>', /prefix x is not declared/],
    ['<a><?php echo 1 ?></a>', /processing instructions/],
    ['<a b="<"/>', /"<" inside an attribute value/],
    ['<a>\u0001</a>', /control character/],
    ['<a><!-- never closed</a>', /comment is not closed/],
  ];
  for (const [text, reason] of cases) {
    const refused = refusal(text);
    t.is(refused?.code, 'invalid', text);
    t.regex(refused?.message ?? '', reason, text);
    t.regex(refused?.message ?? '', /at character \d+/, text);
  }
});

test('answers escape what they carry', (t) => {
  t.is(escapeXml(`<a href="x">&</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  const body = multistatus([
    { href: '/dav/a&b.ics', status: 404 },
    {
      href: '/dav/',
      propstats: [
        { status: 200, properties: ['<d:displayname>x</d:displayname>'] },
        { status: 404, properties: [] },
      ],
    },
  ]);
  t.regex(
    body,
    /<d:href>\/dav\/a&amp;b\.ics<\/d:href><d:status>HTTP\/1\.1 404 Not Found<\/d:status>/,
  );
  t.notRegex(body, /404 Not Found<\/d:status><\/d:propstat>/, 'an empty propstat is left out');
  // What we write, we read.
  t.is(parseXml(body).name, 'multistatus');
});

test('content keeps its double quotes; text with nothing to escape is the same string', (t) => {
  t.is(escapeXmlText(`"a" <b> & c`), '"a" &lt;b&gt; &amp; c');
  const plain = 'SUMMARY:Standup "daily"';
  t.is(escapeXmlText(plain), plain);
  t.is(parseXml(`<a>${escapeXmlText('"]]>&<')}</a>`).text, '"]]>&<');
});

test('carriage returns survive an XML parser, in content and in attributes', (t) => {
  // iCalendar's lines end in CR LF, and a description may hold a bare CR: a parser reads
  // either as a single LF unless the CR is written as a reference.
  const ics = 'BEGIN:VEVENT\r\nDESCRIPTION:a\rb\r\nEND:VEVENT\r\n';
  t.is(escapeXmlText(ics).includes('\r'), false);
  t.is(parseXml(`<a>${escapeXmlText(ics)}</a>`).text, ics);
  const value = 'x\r\ny\tz';
  t.is(parseXml(`<a b="${escapeXml(value)}"/>`).attributes.get('b'), value);
});

test('a multistatus of megabytes comes in parts of about 64 KiB, made only as they are asked for', (t) => {
  let made = 0;
  function* responses() {
    for (let i = 0; i < 400; i++) {
      made++;
      const data = `<c:calendar-data>${escapeXmlText('DESCRIPTION:' + '"'.repeat(10_000))}</c:calendar-data>`;
      yield { href: `/dav/e${i}.ics`, propstats: [{ status: 200, properties: [data] }] };
    }
  }
  const parts = multistatusParts(responses(), 'token-1')[Symbol.iterator]();
  const first = parts.next();
  t.false(first.done);
  t.true(made < 10, `made ${made} responses for the first part`);
  const all = [first.value as string];
  for (let p = parts.next(); !p.done; p = parts.next()) all.push(p.value);
  t.true(all.length > 50);
  t.true(all.slice(0, -1).every((p) => p.length >= 64 * 1024 && p.length < 80 * 1024));
  const body = all.join('');
  t.true(body.length < 400 * 10_500, 'quotes are not written as entities');
  t.is(body.match(/<d:response>/g)?.length, 400);
  t.is(body.match(/<\/d:response>/g)?.length, 400);
  t.regex(body, /<d:sync-token>token-1<\/d:sync-token><\/d:multistatus>\n$/);
});
