/** The types of bin/command-line.js (plain JavaScript, run before any TypeScript loader). */
export declare const GLOBAL_FLAGS: Readonly<Record<string, boolean>>;
export declare function commandFirst(argv: readonly string[]): string[];
