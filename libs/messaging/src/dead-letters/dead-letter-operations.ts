// The four dead-letter operations (list, show, redrive, discard) over a scope: the dead-letter topics of
// this service's consumers and, in a service, its own consumer group. What was handled is recorded in the
// compacted `<topic>.dlq.handled` topic (see KafkaDeadLetterLog), so a redriven or discarded dead letter
// is not listed again, by this process or any other. A redrive is sent first and recorded second: a crash
// in between lists it again and a second redrive is a duplicate the consumers' version guards ignore.
import { ApplicationError, type RecordedEvent } from '@app/core';
import {
  parseRef,
  redriveMessage,
  refProblem,
  summaryOf,
  NotRedrivableError,
  type DeadLetter,
  type DeadLetterSummary,
  type HandledRecord,
} from './dead-letter.js';
import type { DeadLetterScan, KafkaDeadLetterLog } from './kafka-dead-letter-log.js';

/** What the operations need of the dead-letter topics (KafkaDeadLetterLog). */
export type DeadLetterLog = Pick<KafkaDeadLetterLog, 'scan' | 'send' | 'markHandled'>;

export interface DeadLetterScope {
  /** The dead-letter topics operated on (`<topic>.dlq`, with the environment's prefix). */
  readonly topics: readonly string[];
  /** `KAFKA_TOPIC_PREFIX`, so `--topic orders.order` names `<prefix>orders.order`. */
  readonly topicPrefix: string;
  /** Only the dead letters of this consumer group (and older ones without the group header); absent: all. */
  readonly group?: string;
}

/** Which dead letters an operation acts on: the listed refs, or all pending ones (of one topic). */
export type Selection =
  { readonly refs: readonly string[]; readonly topic?: string } | { readonly all: true; readonly topic?: string };

export interface RedriveOutcome {
  readonly redriven: readonly HandledRecord[];
  /** With `all`: the pending dead letters that cannot go back (malformed), left listed for a discard. */
  readonly notRedrivable: readonly { readonly ref: string; readonly reason: string }[];
}

export interface DeadLetterDetail extends Omit<DeadLetter, 'raw'> {
  /** What was done with it; absent while it waits. */
  readonly handled?: HandledRecord;
}

const invalid = (field: string, message: string): ApplicationError =>
  new ApplicationError('VALIDATION_FAILED', 'invalid', `${field}: ${message}`, { errors: [{ field, message }] });

export class DeadLetterOperations {
  readonly #listeners: (() => void)[] = [];

  constructor(
    private readonly log: DeadLetterLog,
    readonly scope: DeadLetterScope,
    private readonly upcast: (event: RecordedEvent) => RecordedEvent,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Calls `listener` after each redrive or discard (the depth gauge measures again at its next scrape). */
  onHandled(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Every dead letter not yet handled, oldest first per partition. */
  async list(filter: { readonly topic?: string } = {}): Promise<DeadLetterSummary[]> {
    return this.#pending(await this.#scan(filter.topic)).map(summaryOf);
  }

  async show(ref: string): Promise<DeadLetterDetail> {
    const problem = refProblem(ref);
    if (problem) throw invalid('ref', problem);
    const scan = await this.#scan(undefined, ref);
    const { raw: _raw, ...deadLetter } = this.#find(scan, ref);
    const handled = scan.handled.get(ref);
    return { ...deadLetter, ...(handled ? { handled } : {}) };
  }

  /** Sends the selected dead letters back to their origin topics, upcast, and records each as redriven. */
  async redrive(selection: Selection, by: string): Promise<RedriveOutcome> {
    const targets = await this.#select(selection);
    const redriven: HandledRecord[] = [];
    const notRedrivable: { ref: string; reason: string }[] = [];
    const messages = targets.flatMap((deadLetter) => {
      try {
        return [{ deadLetter, message: redriveMessage(deadLetter, this.upcast) }];
      } catch (error) {
        if (!(error instanceof NotRedrivableError)) throw error;
        notRedrivable.push({ ref: deadLetter.ref, reason: error.message });
        return [];
      }
    });
    if ('refs' in selection && notRedrivable.length > 0) {
      throw new ApplicationError(
        'DEAD_LETTER_NOT_REDRIVABLE',
        'conflict',
        `${notRedrivable.map((n) => n.reason).join('; ')}; nothing was redriven`,
        { notRedrivable },
      );
    }
    try {
      for (const { deadLetter, message } of messages) {
        const redrivenTo = await this.log.send(message);
        const record: HandledRecord = { ref: deadLetter.ref, action: 'redriven', at: this.#at(), by, redrivenTo };
        await this.log.markHandled(parseRef(deadLetter.ref).topic, record);
        redriven.push(record);
      }
    } finally {
      this.#changed(redriven.length); // also when the broker failed half-way: those done are done
    }
    return { redriven, notRedrivable };
  }

  /** Records the selected dead letters as handled without redrive, with the reason. */
  async discard(selection: Selection, reason: string, by: string): Promise<HandledRecord[]> {
    if (reason.trim() === '') throw invalid('reason', 'must say why the dead letters are discarded');
    const targets = await this.#select(selection);
    const discarded: HandledRecord[] = [];
    try {
      for (const { ref } of targets) {
        const record: HandledRecord = { ref, action: 'discarded', at: this.#at(), by, reason };
        await this.log.markHandled(parseRef(ref).topic, record);
        discarded.push(record);
      }
    } finally {
      this.#changed(discarded.length);
    }
    return discarded;
  }

  /** Dead letters not yet handled, per origin topic (every topic of the scope, 0 included). */
  async depth(): Promise<Record<string, number>> {
    const depth: Record<string, number> = Object.fromEntries(this.scope.topics.map((t) => [originOf(t), 0]));
    for (const deadLetter of this.#pending(await this.#scan())) {
      const topic = originOf(parseRef(deadLetter.ref).topic);
      depth[topic] = (depth[topic] ?? 0) + 1;
    }
    return depth;
  }

  /**
   * The dead-letter topics `topic` names: an origin topic (with or without the prefix) or a `.dlq` topic.
   * A filter that names none selects nothing (an empty list over HTTP); see `assertKnownTopic`.
   */
  resolveTopic(topic: string | undefined): readonly string[] {
    if (topic === undefined) return this.scope.topics;
    const { topics, topicPrefix } = this.scope;
    return topics.filter((t) => [topic, `${topic}.dlq`, `${topicPrefix}${topic}.dlq`].includes(t));
  }

  /** For the command line, where a mistyped `--topic` is better refused than answered with nothing. */
  assertKnownTopic(topic: string | undefined): void {
    if (topic === undefined || this.resolveTopic(topic).length > 0) return;
    const known = this.scope.topics.map(originOf).join(', ');
    throw new ApplicationError('TOPIC_NOT_FOUND', 'not_found', `${topic} has no dead letters here (known: ${known})`, {
      topic,
    });
  }

  async #scan(topic?: string, ref?: string): Promise<DeadLetterScan> {
    const topics =
      ref === undefined ? this.resolveTopic(topic) : this.scope.topics.filter((t) => t === parseRef(ref).topic);
    return topics.length === 0 ? { deadLetters: [], handled: new Map() } : this.log.scan(topics);
  }

  #inScope(deadLetter: DeadLetter): boolean {
    return this.scope.group === undefined || deadLetter.group === null || deadLetter.group === this.scope.group;
  }

  #pending(scan: DeadLetterScan): DeadLetter[] {
    return scan.deadLetters.filter((d) => this.#inScope(d) && !scan.handled.has(d.ref));
  }

  #find(scan: DeadLetterScan, ref: string): DeadLetter {
    const deadLetter = scan.deadLetters.find((d) => d.ref === ref);
    if (!deadLetter || !this.#inScope(deadLetter)) {
      throw new ApplicationError('DEAD_LETTER_NOT_FOUND', 'not_found', `No dead letter ${ref} here`, { ref });
    }
    return deadLetter;
  }

  /** The pending dead letters a selection names; every named ref must exist and be pending, or nothing is done. */
  async #select(selection: Selection): Promise<DeadLetter[]> {
    if ('all' in selection) return this.#pending(await this.#scan(selection.topic));
    if (selection.refs.length === 0) throw invalid('refs', 'name at least one dead letter (or select all)');
    selection.refs.forEach((ref, i) => {
      const problem = refProblem(ref);
      if (problem) throw invalid(`refs.${i}`, problem);
    });
    const allowed = new Set(this.resolveTopic(selection.topic));
    const outside = selection.refs.find((ref) => !allowed.has(parseRef(ref).topic));
    if (outside) {
      throw new ApplicationError('DEAD_LETTER_NOT_FOUND', 'not_found', `No dead letter ${outside} here`, {
        ref: outside,
      });
    }
    const scan = await this.log.scan([...new Set(selection.refs.map((ref) => parseRef(ref).topic))]);
    return [...new Set(selection.refs)].map((ref) => {
      const deadLetter = this.#find(scan, ref);
      const handled = scan.handled.get(ref);
      if (handled) {
        throw new ApplicationError(
          'DEAD_LETTER_HANDLED',
          'conflict',
          `${ref} was ${handled.action} at ${handled.at} by ${handled.by}` +
            (handled.reason ? ` (${handled.reason})` : ''),
          { ref, handled },
        );
      }
      return deadLetter;
    });
  }

  #changed(count: number): void {
    if (count > 0) for (const listener of this.#listeners) listener();
  }

  #at(): string {
    return this.now().toISOString();
  }
}

const originOf = (deadLetterTopic: string): string => deadLetterTopic.replace(/\.dlq$/, '');
