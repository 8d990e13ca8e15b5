/**
 * Getting a password from the person at the keyboard without echoing it, or from standard
 * input for scripts (`--password-stdin`). Never from a flag or the environment, where it
 * would end up in shell history and process listings.
 */
import { InvalidInput } from '../contract/errors.js';
import type { InputStream, OutputStream } from './terminal.js';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = '\u007f';
const CTRL_H = '\b';

/**
 * Asks for a password on a terminal: the prompt goes to `output` (stderr), keystrokes are
 * read in raw mode and never echoed. Backspace edits; Ctrl-C or Ctrl-D on an empty line
 * cancels. Refuses when `input` is not a terminal, pointing to `--password-stdin`.
 */
export async function promptPassword(
  input: InputStream,
  output: OutputStream,
  prompt: string,
): Promise<string> {
  if (input.isTTY !== true || input.setRawMode === undefined) {
    throw new InvalidInput(
      'no terminal to ask for the password on: pipe it in and pass --password-stdin',
      { field: 'password' },
    );
  }
  const setRawMode = input.setRawMode.bind(input);
  output.write(prompt);
  setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (): void => {
      input.removeListener('data', onData);
      setRawMode(false);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: string | Buffer): void => {
      for (const character of chunk.toString()) {
        if (character === '\r' || character === '\n') {
          finish();
          resolve(typed);
          return;
        }
        if (character === CTRL_C || (character === CTRL_D && typed === '')) {
          finish();
          reject(new InvalidInput('cancelled: no password given', { field: 'password' }));
          return;
        }
        if (character === BACKSPACE || character === CTRL_H) {
          typed = [...typed].slice(0, -1).join('');
        } else if (character >= ' ') {
          typed += character;
        }
      }
    };
    input.on('data', onData);
  });
}

/** Reads a password piped on standard input: everything up to EOF, minus one final newline. */
export async function readPasswordFromStdin(input: InputStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += chunk.toString();
    if (text.length > 64 * 1024) {
      throw new InvalidInput('standard input is too long to be a password', { field: 'password' });
    }
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') {
    throw new InvalidInput('standard input held no password', { field: 'password' });
  }
  return password;
}
