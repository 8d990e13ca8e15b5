/**
 * Test support for the dashboard: waiting on rendered frames. (Snapshots to start scenarios
 * from are in `ops/fixtures.ts`.)
 */

/** Raised when a frame never matched before the deadline; carries the last frame seen. */
export class FrameTimeoutError extends Error {
  readonly code = 'FRAME_TIMEOUT' as const;

  constructor(
    readonly description: string,
    readonly lastFrame: string | undefined,
  ) {
    super(`no frame ${description} within the deadline; last frame:\n${lastFrame ?? '(none)'}`);
    this.name = 'FrameTimeoutError';
  }
}

/**
 * Resolves with the first frame `predicate` accepts, re-checking as the event loop turns
 * (renders are asynchronous); rejects with {@link FrameTimeoutError} after `timeoutMs` (generous:
 * the first render of a loaded machine can take seconds; a passing wait returns at once).
 */
export async function waitForFrame(
  lastFrame: () => string | undefined,
  predicate: (frame: string) => boolean,
  {
    timeoutMs = 10_000,
    description = 'matching',
  }: { timeoutMs?: number; description?: string } = {},
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = lastFrame();
    if (frame !== undefined && predicate(frame)) return frame;
    if (Date.now() > deadline) throw new FrameTimeoutError(description, frame);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits for a frame containing every one of `texts`. */
export function waitForText(
  lastFrame: () => string | undefined,
  ...texts: string[]
): Promise<string> {
  return waitForFrame(lastFrame, (frame) => texts.every((text) => frame.includes(text)), {
    description: `containing ${texts.map((text) => JSON.stringify(text)).join(', ')}`,
  });
}
