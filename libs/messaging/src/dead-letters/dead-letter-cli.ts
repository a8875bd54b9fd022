// The `npm run dlq -- <command>` command line: argument parsing (node:util parseArgs), validation with the
// same rules as the admin API, and plain-text output (one dead letter per two lines) or JSON.
import { parseArgs } from 'node:util';
import { ApplicationError } from '@app/core';
import { refProblem, type DeadLetterSummary } from './dead-letter.js';
import type { DeadLetterOperations, Selection } from './dead-letter-operations.js';

export type DeadLetterCommand =
  | { readonly command: 'help' }
  | { readonly command: 'list'; readonly topic?: string; readonly json: boolean }
  | { readonly command: 'show'; readonly ref: string }
  | { readonly command: 'redrive'; readonly selection: Selection }
  | { readonly command: 'discard'; readonly selection: Selection; readonly reason: string };

export const DEAD_LETTER_USAGE = `usage: npm run dlq -- <command>
  list [--topic T] [--json]                     dead letters not yet handled (--json: a JSON array)
  show <ref>                                    one dead letter, with its headers and payload
  redrive <ref...|--all> [--topic T]            back to the origin topic, upcast, marked as a redrive
  discard <ref...|--all> --reason R [--topic T] handled without redrive, with the reason
A ref is <topic>.dlq:<partition>:<offset>, as listed. T is an event topic (orders.order) or its .dlq topic.`;

/** The command line is wrong: the message says how (exit code 2, with the usage). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  topic: { type: 'string' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  reason: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What each command accepts besides refs. */
const ALLOWED: Record<Exclude<DeadLetterCommand['command'], 'help'>, readonly string[]> = {
  list: ['topic', 'json'],
  show: [],
  redrive: ['all', 'topic'],
  discard: ['all', 'topic', 'reason'],
};

export const parseDeadLetterCommand = (argv: readonly string[]): DeadLetterCommand => {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...refs] = positionals;
  if (values.help || name === 'help' || name === undefined) return { command: 'help' };
  if (!(name in ALLOWED)) throw new UsageError(`Unknown command "${name}"`);
  const command = name as keyof typeof ALLOWED;
  const extra = Object.keys(values).filter((option) => !ALLOWED[command].includes(option));
  if (extra.length > 0) throw new UsageError(`${command} takes no ${extra.map((o) => `--${o}`).join(', ')}`);
  for (const option of ['topic', 'reason'] as const) {
    if (values[option] !== undefined && values[option].trim() === '') throw new UsageError(`--${option} is empty`);
  }
  const badRef = refs.map(refProblem).find((problem) => problem !== undefined);
  if (badRef) throw new UsageError(badRef);

  if (command === 'list') {
    if (refs.length > 0) throw new UsageError('list takes no refs (see --topic)');
    return { command, json: values.json ?? false, ...(values.topic ? { topic: values.topic } : {}) };
  }
  if (command === 'show') {
    if (refs.length !== 1) throw new UsageError('show takes exactly one ref');
    return { command, ref: refs[0]! };
  }
  if (values.all && refs.length > 0) throw new UsageError(`${command} takes refs or --all, not both`);
  if (!values.all && refs.length === 0) throw new UsageError(`${command} needs refs or --all`);
  const topic = values.topic ? { topic: values.topic } : {};
  const selection: Selection = values.all ? { all: true, ...topic } : { refs, ...topic };
  if (command === 'redrive') return { command, selection };
  if (values.reason === undefined) throw new UsageError('discard needs --reason');
  return { command, selection, reason: values.reason };
};

const position = ({ origin }: DeadLetterSummary): string =>
  `${origin.topic}[${origin.partition ?? '?'}]@${origin.offset ?? '?'}`;

/** Two lines per dead letter: where and what, then why. */
export const formatDeadLetter = (d: DeadLetterSummary): string =>
  `${d.ref}  ${position(d)}  ${d.eventType ?? '(unreadable)'} ${d.streamId ?? '?'}@${d.streamVersion ?? '?'}` +
  `${d.schemaVersion === null ? '' : ` v${d.schemaVersion}`}  attempts ${d.attempts ?? '?'}  ${d.failedAt ?? ''}` +
  `${d.group ? `  group ${d.group}` : ''}${d.redriveOf ? `  redrive of ${d.redriveOf}` : ''}\n    ${d.error}`;

export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Runs a parsed command; `by` is recorded with what is handled. @returns the exit code: 0 done, 1 refused
 * (not found, already handled, not redrivable) or failed, 2 invalid input.
 */
export const runDeadLetterCommand = async (
  command: DeadLetterCommand,
  operations: DeadLetterOperations,
  io: CommandOutput,
  by: string,
): Promise<number> => {
  try {
    if ('topic' in command) operations.assertKnownTopic(command.topic);
    if ('selection' in command) operations.assertKnownTopic(command.selection.topic);
    switch (command.command) {
      case 'help':
        io.out(DEAD_LETTER_USAGE);
        return 0;
      case 'list': {
        const pending = await operations.list({ topic: command.topic });
        if (command.json) io.out(JSON.stringify(pending, null, 2));
        else io.out([...pending.map(formatDeadLetter), `${pending.length} dead letter(s) not handled`].join('\n'));
        return 0;
      }
      case 'show':
        io.out(JSON.stringify(await operations.show(command.ref), null, 2));
        return 0;
      case 'redrive': {
        const { redriven, notRedrivable } = await operations.redrive(command.selection, by);
        for (const { ref, redrivenTo: to } of redriven)
          io.out(`redriven ${ref} -> ${to!.topic}[${to!.partition}]@${to!.offset}`);
        for (const { reason } of notRedrivable) io.err(`left: ${reason}`);
        io.out(`${redriven.length} redriven${notRedrivable.length ? `, ${notRedrivable.length} not redrivable` : ''}`);
        return notRedrivable.length > 0 ? 1 : 0;
      }
      case 'discard': {
        const discarded = await operations.discard(command.selection, command.reason, by);
        for (const { ref } of discarded) io.out(`discarded ${ref}`);
        io.out(`${discarded.length} discarded`);
        return 0;
      }
    }
  } catch (error) {
    if (!(error instanceof ApplicationError)) throw error;
    io.err(`${error.code}: ${error.message}`);
    return error.kind === 'invalid' ? 2 : 1;
  }
};
