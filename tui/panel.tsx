/**
 * The frame every dashboard panel shares: a cyan title with an optional summary on its line,
 * and the words `not observed` for a section the feed did not see (which differs from empty).
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';

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
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
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
