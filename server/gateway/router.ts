/**
 * Matches a method and path against route templates like `/v1/events/:id`. Knows when a path
 * exists but not for this method (405 with the methods that would work) versus not at all
 * (404). Path parameters are percent-decoded; a malformed escape is the caller's 400.
 */
import { InvalidInput } from '../../contract/errors.js';

/** A route template's handler and the template itself (the metrics label). */
export interface Route<H> {
  readonly method: string;
  readonly template: string;
  readonly handler: H;
}

export type RouteMatch<H> =
  | {
      readonly kind: 'found';
      readonly route: Route<H>;
      readonly params: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'method_not_allowed'; readonly template: string; readonly allowed: string[] }
  | { readonly kind: 'not_found' };

interface CompiledRoute<H> extends Route<H> {
  readonly segments: readonly string[];
}

export class Router<H> {
  private readonly compiled: CompiledRoute<H>[] = [];

  /** Every route, in matching order. */
  get routes(): readonly Route<H>[] {
    return this.compiled.map(({ method, template, handler }) => ({ method, template, handler }));
  }

  add(method: string, template: string, handler: H): this {
    this.compiled.push({ method, template, handler, segments: template.split('/').slice(1) });
    return this;
  }

  /**
   * The route for `method` and `path` (the URL path, still percent-encoded).
   * @throws InvalidInput when a path parameter has a malformed percent escape.
   */
  match(method: string, path: string): RouteMatch<H> {
    const segments = path.split('/').slice(1);
    let template: string | undefined;
    const allowed: string[] = [];
    for (const route of this.compiled) {
      const params = matchSegments(route.segments, segments);
      if (params === null) continue;
      if (route.method === method) return { kind: 'found', route, params };
      template ??= route.template;
      allowed.push(route.method);
    }
    return template === undefined
      ? { kind: 'not_found' }
      : { kind: 'method_not_allowed', template, allowed };
  }
}

function matchSegments(
  template: readonly string[],
  path: readonly string[],
): Record<string, string> | null {
  if (template.length !== path.length) return null;
  const matches = template.every((expected, i) =>
    expected.startsWith(':') ? path[i] !== '' : expected === path[i],
  );
  if (!matches) return null;
  // Decoded only once the whole template matched: a bad escape in a path no route has is a 404.
  const params: Record<string, string> = {};
  template.forEach((expected, i) => {
    if (expected.startsWith(':')) {
      params[expected.slice(1)] = decodeSegment(path[i] ?? '', expected.slice(1));
    }
  });
  return params;
}

function decodeSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw new InvalidInput(`the ${name} in the path has a malformed percent escape`, {
      field: name,
      cause: error,
    });
  }
}
