/**
 * `npm start`: the whole system on this machine (see system.ts). Data lives in `./.agenda/`
 * (or `AGENDA_DATA_DIR`) and survives restarts. Ctrl-C stops everything, in reverse order,
 * waiting for every process to exit.
 */
import { join, resolve } from 'node:path';
import { REPO } from '../../base/entry-points.js';
import { startLocalSystem, type LocalSystem } from './system.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const dataDir = resolve(process.env.AGENDA_DATA_DIR ?? join(REPO, '.agenda'));

let system: LocalSystem | null = null;
let stopping = false;
const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  say(`\nstopping (${why})…`);
  await system?.stop();
  say('stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop('Ctrl-C'));
process.on('SIGTERM', () => void stop('SIGTERM'));

say(`Agenda: data in ${dataDir}`);
try {
  system = await startLocalSystem({
    dataDir,
    say,
    onExit: (p, code) =>
      say(`! ${p.spec.name} exited (${code ?? 'signal'}); see ${p.spec.logPath}`),
  });
} catch (err) {
  say(`could not start: ${(err as Error).message}`);
  process.exit(1);
}
const servers = system.gateways.join(',');
say('');
say('Agenda is up.');
say(`  gateways: ${servers}`);
say(`  CA:       ${system.ca}`);
say(`  logs:     ${system.layout.logDir}`);
say('');
say('Try it (in another terminal):');
say(`  export AGENDA_SERVER=${servers} AGENDA_CA=${system.ca}`);
say('  npx agenda register alice');
say(
  '  npx agenda event add "Planning" --start "tomorrow 9am" --duration 1h && npx agenda event list',
);
say('');
say('Ctrl-C stops everything.');
