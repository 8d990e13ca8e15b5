/**
 * What was typed nearest to what is known, for "did you mean": the not-found hook's commands
 * (cli/hooks/not-found.ts) and a command's flags (cli/failures.ts).
 */

/**
 * The known command (or flag) nearest to `typed` by edit distance, if near enough to be what was
 * meant: at most a third of its length (a typo or two), and never a tie between two.
 */
export function closest(typed: string, known: readonly string[]): string | null {
  const near = Math.max(1, Math.floor(typed.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  let tie = false;
  for (const candidate of known) {
    // Lengths further apart than that cannot be near: a long argument costs nothing.
    if (Math.abs(typed.length - candidate.length) > near) continue;
    const d = editDistance(typed, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) {
      tie = true;
    }
  }
  if (best === null || tie) return null;
  return bestDistance <= near ? best : null;
}

/** Levenshtein distance, in one row of memory. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
