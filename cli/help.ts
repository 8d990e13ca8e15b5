/**
 * `agenda --help` (package.json `oclif.helpClass`): opens with what a person can do and the
 * command lines that do it, then oclif's list of topics and commands. oclif's own root help
 * opens with the package's description, which tells the repository's readers how the system
 * is built, not a user what to type first. Every other help page is oclif's.
 */
import { Help } from '@oclif/core';
import { isOclifError } from './failures.js';

/** A thing to do, and the command lines (after `agenda`) that do it. */
interface Task {
  readonly task: string;
  readonly commands: readonly string[];
}

/** What `agenda --help` opens with, in the order a newcomer meets them. */
export const GET_STARTED: readonly Task[] = [
  {
    task: "Create an account, or log in to one you have (npm start's gateway is https://127.0.0.1:8443, its CA .agenda/pki/ca.pem; the login remembers both):",
    commands: [
      'register alice --server https://<gateway>:8443 --ca <ca.pem>',
      'login alice --server https://<gateway>:8443 --ca <ca.pem>',
    ],
  },
  {
    task: 'Add an event:',
    commands: ['event add "Dentist" --start "tomorrow 9:30am" --duration 45m'],
  },
  {
    task: 'See today and what is next, a day or a week, and your invitations:',
    commands: ['', 'today', 'week', 'invite list'],
  },
  {
    task: 'Share events with a group, and find when everyone in it is free:',
    commands: ['group create team', 'group add team bob', 'free --group team --duration 1h'],
  },
  {
    task: 'Follow changes to your agenda as they happen, with reminders:',
    commands: ['watch --remind'],
  },
  {
    task: "Any command's flags and examples:",
    commands: ['event add --help'],
  },
];

/**
 * oclif's help, but for the root's opening: the greeting and {@link GET_STARTED} first, and
 * help for a command there is none of (`agenda help evnt`) answered as running it would be:
 * the sentence with the nearest command (cli/hooks/not-found.ts), not oclif's "Command evnt
 * not found.".
 */
export default class AgendaHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv);
    } catch (error) {
      const unknown = isOclifError(error) ? /^Command (.+) not found\.$/.exec(error.message) : null;
      if (unknown?.[1] === undefined) throw error;
      // bin/agenda.js took --json away from `help`, which has no such flag; the hook reads it
      // in the command line as typed.
      const hook = await this.config.runHook('command_not_found', {
        id: unknown[1],
        argv: process.argv.slice(2),
      });
      // The hook has said it and ends in an exit with its code.
      throw hook.failures[0]?.error ?? error;
    }
  }

  override formatRoot(): string {
    const { bin } = this.config;
    const tasks = GET_STARTED.map(({ task, commands }) =>
      [
        this.wrap(task, this.indentSpacing),
        ...commands.map((line) => `  $ ${bin}${line === '' ? '' : ` ${line}`}`),
      ].join('\n'),
    );
    return [
      // The greeting `agenda` gives when nobody is logged in (cli/commands/home.ts).
      'Agenda — your calendar, shared with the people and groups you meet.',
      this.section('GET STARTED', tasks.join('\n\n')),
      this.section('VERSION', this.config.userAgent),
      this.section('USAGE', `$ ${bin} [COMMAND]`),
    ].join('\n\n');
  }
}
