/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for the tests
 * and for the lab, which scrapes our daemons' `/metrics`. Every line must be a `# HELP` or
 * `# TYPE` line, another comment, an empty line (the format ignores them; prom-client puts
 * one between families), or a sample of a family whose TYPE came before it: a line it cannot
 * read is an error naming the line, never a line skipped.
 */

/** One sample line: `name{labels} value`. */
export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What an exposition says: its samples in order, and each family's declared type. */
export interface PrometheusExposition {
  readonly samples: readonly PrometheusSample[];
  /** Family name → `counter`, `gauge`, `histogram`, `summary` or `untyped`. */
  readonly types: ReadonlyMap<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
/** A label value: anything but `"`, `\` and newline, or one of the three escapes. */
const LABEL_VALUE = '(?:[^"\\\\\\n]|\\\\[\\\\"n])*';
const LABEL = `${LABEL_NAME}="${LABEL_VALUE}"`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL}(?:,${LABEL})*)?,?)\\})? (\\S+)(?: -?[0-9]+)?$`,
);
/** A value as Go's ParseFloat reads it (Prometheus does): special values in any case. */
const NUMBER = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const INFINITY = /^([-+]?)inf(?:inity)?$/i;
const ONE_LABEL = new RegExp(`(${LABEL_NAME})="(${LABEL_VALUE})"`, 'g');
const HELP = new RegExp(`^# HELP (${NAME})(?: .*)?$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
/** The sample names a histogram or summary family writes besides its own. */
const SUFFIXES = /_(?:bucket|sum|count)$/;

/** Reads `text`; throws an Error saying which line is not Prometheus text and why. */
export function parsePrometheusText(text: string): PrometheusExposition {
  if (text.length > 0 && !text.endsWith('\n')) {
    throw new Error('a Prometheus exposition ends with a newline');
  }
  const samples: PrometheusSample[] = [];
  const types = new Map<string, string>();
  const lines = text.length === 0 ? [] : text.slice(0, -1).split('\n');
  for (const [index, line] of lines.entries()) {
    const where = `line ${index + 1}`;
    if (line === '') continue;
    const type = TYPE.exec(line);
    if (type) {
      const family = type[1] ?? '';
      if (types.has(family)) throw new Error(`${where}: TYPE given twice for ${family}`);
      if (samples.some((s) => familyOf(s.name, types) === family)) {
        throw new Error(`${where}: TYPE of ${family} after its samples`);
      }
      types.set(family, type[2] ?? '');
      continue;
    }
    if (HELP.test(line) || line.startsWith('#')) continue;
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`${where}: not a Prometheus line: ${JSON.stringify(line)}`);
    const name = sample[1] ?? '';
    if (familyOf(name, types) === null) {
      throw new Error(`${where}: sample of ${name} before its TYPE`);
    }
    const labels = labelsOf(sample[2] ?? '');
    if (labels === null) throw new Error(`${where}: a label given twice: ${JSON.stringify(line)}`);
    const value = valueOf(sample[3] ?? '');
    if (value === null) throw new Error(`${where}: not a number: ${JSON.stringify(line)}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/**
 * The value of the sample named `name` whose labels are exactly `labels` (in any order);
 * undefined when there is none.
 */
export function sampleValue(
  exposition: PrometheusExposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const wanted = Object.entries(labels);
  return exposition.samples.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === wanted.length &&
      wanted.every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/** The declared family a sample name belongs to, or null when none was declared. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string | null {
  if (types.has(name)) return name;
  const base = name.replace(SUFFIXES, '');
  const type = types.get(base);
  return base !== name && (type === 'histogram' || type === 'summary') ? base : null;
}

/** The labels of a sample, or null when one is given twice. */
function labelsOf(text: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  for (const [, name = '', raw = ''] of text.matchAll(ONE_LABEL)) {
    if (Object.hasOwn(labels, name)) return null;
    labels[name] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** The number `text` says, or null when it is none. */
function valueOf(text: string): number | null {
  if (NUMBER.test(text)) return Number(text);
  if (/^nan$/i.test(text)) return NaN;
  const infinity = INFINITY.exec(text);
  if (infinity) return infinity[1] === '-' ? -Infinity : Infinity;
  return null;
}
