/**
 * The reader's side of paged answers: what a client does with the pages of one list.
 */

/**
 * The agendas of consecutive `agenda.view` pages as one list — the reader's side of the
 * agenda cursor: an agenda that a page's end cut is joined to its continuation on the next.
 */
export function joinAgendaPages<U extends string, E>(
  pages: readonly {
    readonly agendas: readonly { readonly user: U; readonly entries: readonly E[] }[];
  }[],
): { user: U; entries: E[] }[] {
  const joined: { user: U; entries: E[] }[] = [];
  for (const agenda of pages.flatMap((page) => page.agendas)) {
    const last = joined.at(-1);
    if (last?.user === agenda.user) last.entries = last.entries.concat(agenda.entries);
    else joined.push({ user: agenda.user, entries: [...agenda.entries] });
  }
  return joined;
}
