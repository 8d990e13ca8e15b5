/**
 * The request schemas the route table names (./api-routes.ts), as zod objects: what the
 * gateway checks every JSON body against, and what the CLI checks a body against before
 * sending it. Apart from the table so that it loads zod only where a body is checked.
 */
import type { z } from 'zod';
import * as Api from './api.js';
import type { RequestSchemaName } from './api-routes.js';

/** api.ts's schema named `name`. */
export function requestSchema(name: RequestSchemaName): z.ZodType {
  return Api[name];
}
