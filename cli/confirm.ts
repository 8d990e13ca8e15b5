/**
 * Asking the person at the keyboard to confirm something that cannot be undone by typing a
 * word back (GitHub's "type the repository name"): a slip of the Enter key confirms nothing.
 */
import { InvalidInput } from '../contract/errors.js';
import type { InputStream, OutputStream } from './terminal.js';

/** Longest answer read: a confirmation is a name, not a document. */
const MAX_ANSWER = 1024;

/**
 * Asks for `expected` on a terminal: `explanation` (what confirming does) and the prompt go
 * to `output` (stderr), the answer is read up to the end of the line, as typed (the terminal
 * echoes it). Surrounding blanks do not count. Without a terminal nothing is written before
 * the refusal, so that under `--json` the refusal is all stderr holds.
 * @throws InvalidInput when the answer is anything else, or when `input` is not a terminal
 *   (pointing to `--yes`).
 */
export async function confirmByTyping(
  input: InputStream,
  output: OutputStream,
  question: { readonly explanation?: string; readonly prompt: string },
  expected: string,
): Promise<void> {
  if (input.isTTY !== true) {
    throw new InvalidInput('no terminal to confirm on: pass --yes to confirm', { field: 'yes' });
  }
  if (question.explanation !== undefined) output.write(`${question.explanation}\n`);
  output.write(question.prompt);
  const answer = await readLine(input);
  if (answer.trim() !== expected) {
    throw new InvalidInput(`not confirmed (you did not type ${expected}): nothing was done`, {
      field: 'yes',
    });
  }
}

/** One line from `input`, without its end; what came before the end of input if it ends first. */
function readLine(input: InputStream): Promise<string> {
  input.setEncoding('utf8');
  return new Promise<string>((resolve) => {
    let typed = '';
    const finish = (line: string): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.pause();
      resolve(line);
    };
    const onData = (chunk: string | Buffer): void => {
      typed += chunk.toString();
      const end = typed.search(/\r|\n/);
      if (end >= 0) finish(typed.slice(0, end));
      else if (typed.length > MAX_ANSWER) finish(typed);
    };
    const onEnd = (): void => finish(typed);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
