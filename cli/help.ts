/**
 * `agenda --help` (package.json `oclif.helpClass`): opens with what a person can do and the
 * command lines that do it, then oclif's list of topics and commands. oclif's own root help
 * opens with the package's description, which tells the repository's readers how the system
 * is built, not a user what to type first. Every other help page is oclif's.
 */
import { Help } from '@oclif/core';
import type { Command, Interfaces } from '@oclif/core';
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
    // bin/agenda.js took --json away from `help`, which has no such flag: it is read in the
    // command line as typed, before any `--`.
    const typed = process.argv.slice(2);
    const end = typed.indexOf('--');
    if ((end === -1 ? typed : typed.slice(0, end)).includes('--json')) {
      const json = helpJson(this.config, argv);
      if (json !== null) {
        process.stdout.write(`${JSON.stringify(json)}\n`);
        return;
      }
      // Nothing of that name: answered below, as the text help answers it (in JSON).
    }
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

/** A command as `agenda help --json` lists it. */
export interface CommandHelp {
  /** As typed: `event add`. */
  readonly id: string;
  readonly summary: string;
}

/** One command in full, as `agenda help <command> --json` prints it. */
export interface CommandHelpDetails extends CommandHelp {
  readonly description: string;
  readonly args: readonly { name: string; description: string; required: boolean }[];
  readonly flags: readonly {
    name: string;
    char?: string;
    description: string;
    required: boolean;
    /** A flag every user's command takes (`--json`, `--profile`, …). */
    global: boolean;
  }[];
  readonly examples: readonly string[];
}

/** What `agenda help [topic or command] --json` prints. */
export type HelpJson =
  | {
      readonly commands: readonly CommandHelp[];
      readonly topics: readonly { name: string; description: string }[];
    }
  | {
      readonly topic: { name: string; description: string };
      readonly commands: readonly CommandHelp[];
    }
  | { readonly command: CommandHelpDetails };

/**
 * The help `argv` asks for (the words of a topic or command; flags are passed over), as
 * JSON: every command with its summary and the topics at the root, a topic's commands, or
 * one command's arguments, flags and examples. Null when the words name nothing.
 */
export function helpJson(config: Interfaces.Config, argv: readonly string[]): HelpJson | null {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  const visible = config.commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id));
  const listed = (c: Command.Loadable): CommandHelp => ({
    id: c.id.split(':').join(' '),
    summary: c.summary ?? c.description?.split('\n')[0] ?? '',
  });
  if (words.length === 0) {
    return {
      commands: visible.map(listed),
      topics: config.topics
        .filter((topic) => !topic.hidden)
        .map((topic) => ({ name: topic.name, description: topic.description ?? '' })),
    };
  }
  // The longest run of words that names something: `event add x` is `event add`.
  for (let k = words.length; k > 0; k--) {
    const id = words.slice(0, k).join(':');
    const command = config.findCommand(id);
    if (command !== undefined && !command.hidden) {
      const example = (e: string | { command: string }) =>
        (typeof e === 'string' ? e : e.command)
          .replaceAll('<%= config.bin %>', config.bin)
          .replaceAll('<%= command.id %>', id.split(':').join(' '));
      return {
        command: {
          ...listed(command),
          description: command.description ?? '',
          args: Object.entries(command.args).map(([name, arg]) => ({
            name,
            description: arg.description ?? '',
            required: arg.required === true,
          })),
          flags: Object.entries(command.flags)
            .filter(([, flag]) => flag.hidden !== true)
            .map(([name, flag]) => ({
              name: `--${name}`,
              ...(flag.char === undefined ? {} : { char: `-${flag.char}` }),
              description: flag.summary ?? flag.description ?? '',
              required: flag.required === true,
              global: flag.helpGroup === 'GLOBAL',
            })),
          examples: (command.examples ?? []).map(example),
        },
      };
    }
    const topic = config.findTopic(id);
    if (topic !== undefined && topic !== null && topic.hidden !== true) {
      return {
        topic: { name: words.slice(0, k).join(' '), description: topic.description ?? '' },
        commands: visible.filter((c) => c.id.startsWith(`${id}:`)).map(listed),
      };
    }
  }
  return null;
}
