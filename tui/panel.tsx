/**
 * The frame every dashboard panel shares: a cyan title with an optional summary on its line,
 * and the words `not observed` for a section the feed did not see (which differs from empty).
 */
import { Box, Text } from 'ink';
import { createContext, useContext } from 'react';
import type { ReactNode } from 'react';

/** How the panels are drawn this frame: chosen by the layout (tui/layout.ts). */
export interface PanelLayout {
  /** Display cells a line may take. */
  readonly width: number;
  /** A blank line above each panel. */
  readonly spaced: boolean;
  /** The selected member's key (`db:db-1`, `redis:redis-1`, `vip:vip-1`, `gossip:gw-1`). */
  readonly selected: string | undefined;
}

export const PanelLayoutContext = createContext<PanelLayout>({
  width: 100,
  spaced: true,
  selected: undefined,
});

export function usePanelLayout(): PanelLayout {
  return useContext(PanelLayoutContext);
}

/** A titled section; `summary` follows the title on its line. */
export function Panel({
  title,
  summary,
  children,
}: {
  title: string;
  summary?: ReactNode;
  children?: ReactNode;
}) {
  const { spaced } = usePanelLayout();
  return (
    <Box flexDirection="column" marginTop={spaced ? 1 : 0}>
      <Text wrap="truncate-end">
        <Text bold color="cyan">
          {title}
        </Text>
        {summary === undefined ? null : (
          <Text>
            {'  '}
            {summary}
          </Text>
        )}
      </Text>
      {children}
    </Box>
  );
}

/** A section the feed did not observe. */
export function NotObserved({ title }: { title: string }) {
  return <Panel title={title} summary={<Text color="yellow">not observed</Text>} />;
}
