/**
 * The XML of WebDAV and CalDAV request bodies (PROPFIND, REPORT), read by a small strict
 * parser, and the XML of their answers (multistatus), written by escaping writers.
 *
 * No XML library is among the project's dependencies, and what CalDAV clients send is a
 * small subset of XML: elements in namespaces, attributes, text, comments, CDATA. So the
 * parser reads that subset and refuses the rest, before it costs anything:
 * - no DTD at all (`<!DOCTYPE` is refused), so no entity can be declared: entity expansion
 *   ("billion laughs") and external entities (XXE) cannot happen; the five predefined
 *   entities and character references are the only ones read;
 * - no processing instructions but the XML declaration;
 * - at most {@link XML_LIMITS} of depth, elements and attributes, on a text the gateway has
 *   already cut at its byte limit; the work is linear in the text's length.
 * Every refusal is an `InvalidInput` saying what was wrong and where.
 */
import { InvalidInput } from '../../contract/errors.js';

/** The bounds of a body the parser reads. */
export const XML_LIMITS = {
  /** Characters of text (the gateway reads at most this many bytes, too). */
  maxLength: 64 * 1024,
  /** Elements nested inside one another, the root included. */
  maxDepth: 32,
  /** Elements in the whole document. */
  maxElements: 2_000,
  /** Attributes on one element. */
  maxAttributes: 32,
} as const;

/** An element, with its name resolved to its namespace. */
export interface XmlElement {
  /** The namespace URI, `''` for none. */
  readonly namespace: string;
  /** The local name. */
  readonly name: string;
  /** Unprefixed attributes by name (prefixed ones, namespace declarations aside, are dropped). */
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** The text directly inside it (CDATA included), concatenated, entities decoded. */
  readonly text: string;
}

export const DAV_NS = 'DAV:';
export const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';
export const CALENDARSERVER_NS = 'http://calendarserver.org/ns/';

const NAME = /[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?/y;
const SPACE = /[ \t\r\n]*/y;
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';

/**
 * Parses `text` as one XML document within {@link XML_LIMITS}.
 * @throws InvalidInput naming what is refused and where.
 */
export function parseXml(text: string): XmlElement {
  if (text.length > XML_LIMITS.maxLength) {
    throw new InvalidInput(`the XML body is longer than ${XML_LIMITS.maxLength} characters`);
  }
  return new XmlReader(text).document();
}

/** The first child of `element` named `name` in `namespace`. */
export function childNamed(
  element: XmlElement,
  namespace: string,
  name: string,
): XmlElement | undefined {
  return element.children.find((c) => c.namespace === namespace && c.name === name);
}

/** Whether `element` is `name` in `namespace`. */
export function isNamed(element: XmlElement, namespace: string, name: string): boolean {
  return element.namespace === namespace && element.name === name;
}

class XmlReader {
  private pos = 0;
  private elements = 0;

  constructor(private readonly text: string) {}

  document(): XmlElement {
    if (this.text.startsWith('\uFEFF')) this.pos = 1;
    if (this.text.startsWith('<?xml', this.pos)) {
      const end = this.text.indexOf('?>', this.pos);
      if (end < 0) this.fail('the XML declaration is not closed');
      this.pos = end + 2;
    }
    this.misc();
    if (this.text.startsWith('<!DOCTYPE', this.pos)) {
      this.fail('a document type declaration (DTD) is refused: no entities are read');
    }
    if (this.text[this.pos] !== '<') this.fail('expected the root element');
    const root = this.element(new Map([['xml', XML_NAMESPACE]]), 1);
    this.misc();
    if (this.pos < this.text.length) this.fail('text after the root element');
    return root;
  }

  /** Whitespace and comments between the prolog's parts. */
  private misc(): void {
    for (;;) {
      this.space();
      if (this.text.startsWith('<!--', this.pos)) this.comment();
      else if (this.text.startsWith('<?', this.pos)) {
        this.fail('processing instructions are refused');
      } else return;
    }
  }

  private element(scope: ReadonlyMap<string, string>, depth: number): XmlElement {
    if (depth > XML_LIMITS.maxDepth) {
      this.fail(`elements are nested deeper than ${XML_LIMITS.maxDepth}`);
    }
    this.elements += 1;
    if (this.elements > XML_LIMITS.maxElements) {
      this.fail(`the document has more than ${XML_LIMITS.maxElements} elements`);
    }
    this.pos += 1; // '<'
    const qname = this.name();
    const raw: [string, string][] = [];
    for (;;) {
      const before = this.pos;
      this.space();
      const c = this.text[this.pos];
      if (c === '/' || c === '>') break;
      if (this.pos === before) this.fail('expected whitespace before an attribute');
      const name = this.name();
      this.space();
      this.expect('=');
      this.space();
      raw.push([name, this.attributeValue()]);
      if (raw.length > XML_LIMITS.maxAttributes) {
        this.fail(`an element has more than ${XML_LIMITS.maxAttributes} attributes`);
      }
    }
    const inner = new Map(scope);
    const attributes = new Map<string, string>();
    const seen = new Set<string>();
    for (const [name, value] of raw) {
      if (seen.has(name)) this.fail(`the attribute ${name} is repeated`);
      seen.add(name);
      if (name === 'xmlns') inner.set('', value);
      else if (name.startsWith('xmlns:')) {
        if (value === '') this.fail(`the prefix ${name.slice(6)} is bound to no namespace`);
        inner.set(name.slice(6), value);
      } else if (!name.includes(':')) attributes.set(name, value);
    }
    for (const [name] of raw) {
      const prefix = name.includes(':') ? name.slice(0, name.indexOf(':')) : null;
      if (prefix !== null && prefix !== 'xmlns' && !inner.has(prefix)) {
        this.fail(`the prefix ${prefix} is not declared`);
      }
    }
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const namespace = inner.get(prefix);
    if (namespace === undefined) {
      if (prefix !== '') this.fail(`the prefix ${prefix} is not declared`);
    }
    const name = colon < 0 ? qname : qname.slice(colon + 1);
    const self = { namespace: namespace ?? '', name, attributes };
    if (this.text.startsWith('/>', this.pos)) {
      this.pos += 2;
      return { ...self, children: [], text: '' };
    }
    this.expect('>');
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail(`the element ${qname} is not closed`);
      if (this.text.startsWith('</', this.pos)) {
        this.pos += 2;
        const closing = this.name();
        if (closing !== qname) this.fail(`</${closing}> closes <${qname}>`);
        this.space();
        this.expect('>');
        return { ...self, children, text };
      }
      if (this.text.startsWith('<!--', this.pos)) this.comment();
      else if (this.text.startsWith('<![CDATA[', this.pos)) {
        const end = this.text.indexOf(']]>', this.pos + 9);
        if (end < 0) this.fail('a CDATA section is not closed');
        text += this.text.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.text.startsWith('<?', this.pos)) {
        this.fail('processing instructions are refused');
      } else if (this.text.startsWith('<!', this.pos)) {
        this.fail('declarations are refused inside the document');
      } else if (this.text[this.pos] === '<') {
        children.push(this.element(inner, depth + 1));
      } else {
        const end = this.text.indexOf('<', this.pos);
        const stop = end < 0 ? this.text.length : end;
        text += this.decode(this.text.slice(this.pos, stop));
        this.pos = stop;
      }
    }
  }

  private comment(): void {
    const end = this.text.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('a comment is not closed');
    this.pos = end + 3;
  }

  private attributeValue(): string {
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") this.fail('an attribute value must be quoted');
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail('an attribute value is not closed');
    const raw = this.text.slice(this.pos + 1, end);
    if (raw.includes('<')) this.fail('"<" inside an attribute value');
    this.pos = end + 1;
    return this.decode(raw);
  }

  /** Text with its references decoded: the five predefined entities and character references. */
  private decode(raw: string): string {
    if (!raw.includes('&')) return checkedChars(raw, this);
    return checkedChars(
      raw.replace(/&([^;&\s]{0,10});|&/g, (match, ref: string | undefined) => {
        if (ref === undefined) this.fail('a bare "&" (write &amp;)');
        switch (ref) {
          case 'lt':
            return '<';
          case 'gt':
            return '>';
          case 'amp':
            return '&';
          case 'quot':
            return '"';
          case 'apos':
            return "'";
        }
        const numeric = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
        if (numeric === null) this.fail(`the entity &${ref}; is not declared (no DTD is read)`);
        const code =
          numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2] ?? '', 10);
        if (!isXmlChar(code)) this.fail(`&${ref}; is not a character XML allows`);
        return String.fromCodePoint(code);
      }),
      this,
    );
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const match = NAME.exec(this.text);
    if (match === null) this.fail('expected a name');
    this.pos = NAME.lastIndex;
    return match[0];
  }

  private space(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.text);
    this.pos = SPACE.lastIndex;
  }

  private expect(literal: string): void {
    if (!this.text.startsWith(literal, this.pos)) this.fail(`expected "${literal}"`);
    this.pos += literal.length;
  }

  fail(reason: string): never {
    throw new InvalidInput(`the XML body is refused at character ${this.pos}: ${reason}`);
  }
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

function checkedChars(text: string, reader: { fail(reason: string): never }): string {
  if (FORBIDDEN_CHARS.test(text)) reader.fail('a control character XML does not allow');
  return text;
}

// ---------------------------------------------------------------------------------------
// Writing answers

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};
const entityOf = (c: string) => ENTITIES[c] ?? c;

/**
 * `text` escaped for an attribute value (in double quotes): line breaks and tabs too, which
 * a parser would otherwise read as spaces there.
 */
export function escapeXml(text: string): string {
  return /[&<>"\r\n\t]/.test(text) ? text.replace(/[&<>"\r\n\t]/g, entityOf) : text;
}

/**
 * `text` escaped for element content, where a double quote needs no escaping: an event's
 * iCalendar text is most of a calendar-query's answer, and one whose text is all quotes
 * grew sixfold as `&quot;`s. A carriage return is written as a reference: XML parsers read
 * a bare one (and CR LF) as a line feed (XML 1.0 §2.11), which cut an event's text at its
 * first CR in every app (outside attack: 274 of 274 descriptions cut); iCalendar's own line
 * ends are CR LF, so all of them. One pass, and none when there is nothing to escape (`>`
 * stays escaped, so `]]>` never appears).
 */
export function escapeXmlText(text: string): string {
  return /[&<>\r]/.test(text) ? text.replace(/[&<>\r]/g, entityOf) : text;
}

/** The prefixes answers write: DAV's, CalDAV's and CalendarServer's. */
export const PREFIXES: Readonly<Record<string, string>> = {
  [DAV_NS]: 'd',
  [CALDAV_NS]: 'c',
  [CALENDARSERVER_NS]: 'cs',
};

const ROOT_NAMESPACES = `xmlns:d="${DAV_NS}" xmlns:c="${CALDAV_NS}" xmlns:cs="${CALENDARSERVER_NS}"`;

/** A property's name as an answer writes it, with an `xmlns` of its own when it needs one. */
export function propertyTag(namespace: string, name: string, content = ''): string {
  const prefix = PREFIXES[namespace];
  const tag = prefix === undefined ? name : `${prefix}:${name}`;
  const declare = prefix === undefined ? ` xmlns="${escapeXml(namespace)}"` : '';
  return content === '' ? `<${tag}${declare}/>` : `<${tag}${declare}>${content}</${tag}>`;
}

/** One `<d:propstat>`: the properties (written XML) that share `status`. */
export interface PropStat {
  readonly status: number;
  readonly properties: readonly string[];
}

/** One `<d:response>`: a resource with its properties by status, or a status of its own. */
export type DavResponse =
  | { readonly href: string; readonly propstats: readonly PropStat[] }
  | { readonly href: string; readonly status: number; readonly error?: string };

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  507: 'Insufficient Storage',
};

function statusLine(status: number): string {
  return `<d:status>HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}</d:status>`;
}

/** A body written in parts as the client takes them, made as they are asked for. */
export interface DavParts {
  readonly parts: Iterable<string>;
}

/** How much of a multistatus {@link multistatusParts} gathers before it hands a part on. */
const MULTISTATUS_PART_CHARS = 64 * 1024;

/**
 * A `207 Multi-Status` body in parts of about 64 KiB, each written only when asked for: a
 * calendar-query answers up to a read's 2 MiB of iCalendar text, and written whole it was
 * one string of megabytes, made in one turn of the gateway's event loop; the gateway writes
 * these parts as the client takes them, yielding between them. With `syncToken`, the
 * DAV:sync-token a sync-collection report answers after its responses (RFC 6578 §6.4).
 */
export function* multistatusParts(
  responses: Iterable<DavResponse>,
  syncToken?: string,
): Generator<string, void, undefined> {
  let part = `<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus ${ROOT_NAMESPACES}>`;
  for (const r of responses) {
    part += responseXml(r);
    if (part.length >= MULTISTATUS_PART_CHARS) {
      yield part;
      part = '';
    }
  }
  if (syncToken !== undefined) {
    part += `<d:sync-token>${escapeXmlText(syncToken)}</d:sync-token>`;
  }
  yield `${part}</d:multistatus>\n`;
}

function responseXml(r: DavResponse): string {
  const href = `<d:href>${escapeXmlText(r.href)}</d:href>`;
  if ('status' in r) {
    const error = r.error === undefined ? '' : `<d:error>${r.error}</d:error>`;
    return `<d:response>${href}${statusLine(r.status)}${error}</d:response>`;
  }
  let propstats = '';
  for (const p of r.propstats) {
    if (p.properties.length === 0) continue;
    propstats += `<d:propstat><d:prop>${p.properties.join('')}</d:prop>${statusLine(p.status)}</d:propstat>`;
  }
  return `<d:response>${href}${propstats}</d:response>`;
}

/** A `<d:error>` body naming a failed precondition (RFC 4918 §16), with a readable reason. */
export function davError(precondition: string, reason: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<d:error ${ROOT_NAMESPACES}>${precondition}<d:responsedescription>${escapeXmlText(reason)}</d:responsedescription></d:error>\n`;
}
