/** How the dashboard writes times and durations: short, fixed, and readable without colour. */

/** `22:57:03Z`; `?` for a time that is not one. */
export function formatClockTime(at: number): string {
  if (!Number.isFinite(at)) return '?';
  return `${new Date(at).toISOString().slice(11, 19)}Z`;
}

/** `850 ms`, `3.2 s`, `4 min`; `-` when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** A number, or `-` when unknown. */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : String(value);
}

/** `312 MiB`, `1.2 GiB`; `-` when unknown. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
  const mib = bytes / (1024 * 1024);
  if (mib < 1) return `${Math.round(bytes / 1024)} KiB`;
  if (mib < 1024) return `${Math.round(mib)} MiB`;
  return `${(mib / 1024).toFixed(1)} GiB`;
}
