/** prom-client's default-metric collectors (CommonJS modules without types of their own). */
declare module 'prom-client/lib/metrics/*.js' {
  import type { Registry } from 'prom-client';
  const collect: (
    registry: Registry,
    config: { readonly register?: Registry; readonly labels?: Readonly<Record<string, string>> },
  ) => void;
  export default collect;
}
