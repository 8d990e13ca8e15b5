/**
 * The election restriction (Raft §5.4.1), in one place: a voter grants its vote only to a
 * candidate whose log is at least as up-to-date as its own. Logs are compared by the term
 * of their last entry first, and only on equal terms by their length. Getting this
 * comparison wrong (comparing lengths first, or the current term instead of the last
 * entry's term) lets a stale candidate win and erase committed entries.
 */
export function candidateLogIsUpToDate(
  candidate: { readonly lastTerm: number; readonly lastIndex: number },
  voter: { readonly lastTerm: number; readonly lastIndex: number },
): boolean {
  if (candidate.lastTerm !== voter.lastTerm) return candidate.lastTerm > voter.lastTerm;
  return candidate.lastIndex >= voter.lastIndex;
}
