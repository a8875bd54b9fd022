/**
 * The AsyncAPI 3.0 document of the system's events, generated from what validates and routes them: one channel
 * per Kafka topic (key = stream id, partitions), one message per event type and schema version (the Kafka
 * headers, and the envelope whose `data` is the zod contract as JSON Schema), a `send` operation for the context
 * that publishes the topic (topics are `<context>.<aggregate>`) and a `receive` operation per context whose
 * handlers consume it (read from their @HandlesEvents), and the live feeds (Server-Sent Events) of the contexts'
 * controllers. Event types of a category come from the contracts' `<X>_EVENT_TYPES` next to `<X>_CATEGORY`.
 */
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { z } from 'zod';
import * as contracts from '@app/contracts';
import { declaredEventHandlers } from '@app/event-sourcing';
import { LIVE_FEED_METADATA } from '@app/http';
import { EVENT_HEADERS } from '@app/messaging';
import type { RegisteredContext } from '../registered-context.js';

type Json = Record<string, unknown>;

export interface AsyncApiOptions {
  readonly title: string;
  readonly contexts: readonly RegisteredContext[];
  /** Partitions of each topic created at start-up (KAFKA_PARTITIONS). */
  readonly partitions: number;
}

const KAFKA_BINDING = '0.5.0';

/** Each stream category with its topic and event types (`ORDER_CATEGORY` and `ORDER_EVENT_TYPES`). */
const categories = (): { category: string; topic: string; types: { type: string; schemaVersion: number }[] }[] => {
  const exports = contracts as unknown as Record<string, unknown>;
  return Object.entries(exports)
    .filter(([name, value]) => name.endsWith('_CATEGORY') && typeof value === 'string')
    .map(([name, category]) => ({
      category: category as string,
      topic: contracts.topicOfCategory(category as string),
      types: [
        ...((exports[name.replace(/_CATEGORY$/, '_EVENT_TYPES')] ?? []) as { type: string; schemaVersion: number }[]),
      ],
    }));
};

const jsonSchema = (schema: z.ZodType): Json => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Json;
  return rest;
};

const headersSchema = (type: string, schemaVersion: number): Json => ({
  type: 'object',
  required: Object.values(EVENT_HEADERS),
  properties: {
    [EVENT_HEADERS.eventType]: { type: 'string', const: type },
    [EVENT_HEADERS.eventId]: { type: 'string', description: 'Unique per event: consumers deduplicate on it' },
    [EVENT_HEADERS.schemaVersion]: { type: 'string', const: String(schemaVersion) },
    [EVENT_HEADERS.correlationId]: { type: 'string' },
    [EVENT_HEADERS.causationId]: { type: 'string' },
    [EVENT_HEADERS.streamId]: { type: 'string', description: 'Also the message key' },
    [EVENT_HEADERS.streamVersion]: { type: 'string', pattern: '^[1-9][0-9]*$' },
    [EVENT_HEADERS.occurredAt]: { type: 'string', format: 'date-time' },
    traceparent: { type: 'string', description: 'W3C trace context, when tracing is on' },
  },
});

const envelopeSchema = (category: string, type: string, schemaVersion: number, data: Json): Json => ({
  type: 'object',
  required: ['streamId', 'version', 'type', 'schemaVersion', 'data', 'metadata'],
  properties: {
    streamId: { type: 'string', pattern: `^${category}-` },
    version: { type: 'integer', minimum: 1, description: 'Position of the event in its stream' },
    type: { type: 'string', const: type },
    schemaVersion: { type: 'integer', const: schemaVersion },
    data,
    metadata: {
      type: 'object',
      required: ['eventId', 'correlationId', 'causationId', 'occurredAt'],
      properties: {
        eventId: { type: 'string' },
        correlationId: { type: 'string' },
        causationId: { type: 'string' },
        occurredAt: { type: 'string', format: 'date-time' },
      },
    },
  },
});

const messageId = (type: string, schemaVersion: number): string => `${type}.v${schemaVersion}`;
const ref = (path: string): Json => ({ $ref: path });

/** The live feed routes of the contexts' controllers (`@LiveFeedOperation`), with what each shows. */
const liveFeeds = (contexts: readonly RegisteredContext[]): { context: string; path: string; what: string }[] =>
  contexts.flatMap((context) =>
    (context.module.register({ role: 'query' }).controllers ?? []).flatMap((controller) => {
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      return Object.getOwnPropertyNames(controller.prototype).flatMap((name) => {
        const method = (controller.prototype as Record<string, unknown>)[name];
        const what: unknown =
          typeof method === 'function' ? Reflect.getMetadata(LIVE_FEED_METADATA, method) : undefined;
        if (typeof what !== 'string' || Reflect.getMetadata(METHOD_METADATA, method as object) === undefined) return [];
        const path = `/${base}/${String(Reflect.getMetadata(PATH_METADATA, method as object))}`.replace(
          /:(\w+)/g,
          '{$1}',
        );
        return [{ context: context.name, path, what }];
      });
    }),
  );

export const asyncApiDocument = ({ title, contexts, partitions }: AsyncApiOptions): Json => {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  for (const { category, topic, types } of categories()) {
    const channelMessages: Json = {};
    for (const { type, schemaVersion } of types) {
      const versions = contracts.EVENT_CONTRACTS[type] ?? {};
      for (const version of Object.keys(versions).map(Number)) {
        const id = messageId(type, version);
        messages[id] = {
          name: type,
          title: `${type} v${version}${version === schemaVersion ? '' : ' (older schema, upcast on read)'}`,
          contentType: 'application/json',
          headers: headersSchema(type, version),
          payload: envelopeSchema(category, type, version, jsonSchema(versions[version]!)),
          bindings: { kafka: { key: { type: 'string', pattern: `^${category}-` }, bindingVersion: KAFKA_BINDING } },
        };
        channelMessages[id] = ref(`#/components/messages/${id}`);
      }
    }
    channels[topic] = {
      address: topic,
      title: `${category} events`,
      description:
        `The events of every \`${category}\` stream. Message key = stream id (\`${category}-<id>\`): one stream's ` +
        `events stay in one partition, in order. Failed messages go to \`${contracts.deadLetterTopic(topic)}\`.`,
      servers: [ref('#/servers/kafka')],
      messages: channelMessages,
      bindings: { kafka: { topic, partitions, bindingVersion: KAFKA_BINDING } },
    };
    const publisher = topic.split('.')[0]!;
    const all = Object.keys(channelMessages).map((id) => ref(`#/channels/${topic}/messages/${id}`));
    operations[`${publisher}.publishes.${topic}`] = {
      action: 'send',
      title: `${publisher} publishes ${topic}`,
      summary: `The ${publisher} service appends these events and its outbox relay publishes them (acks=all).`,
      channel: ref(`#/channels/${topic}`),
      messages: all,
    };
    for (const context of contexts) {
      const handlers = declaredEventHandlers([context.module]).filter((h) => h.categories.includes(category));
      if (handlers.length === 0) continue;
      const consumed = new Set(handlers.flatMap((h) => h.events));
      operations[`${context.name}.receives.${topic}`] = {
        action: 'receive',
        title: `${context.name} consumes ${topic}`,
        summary: `Handlers: ${handlers.map((h) => `${h.name} (${h.kind})`).join(', ')}.`,
        channel: ref(`#/channels/${topic}`),
        messages: all.filter((m) =>
          consumed.has(
            String(m.$ref)
              .split('/')
              .pop()!
              .replace(/\.v\d+$/, ''),
          ),
        ),
        bindings: { kafka: { groupId: { type: 'string', const: context.name }, bindingVersion: KAFKA_BINDING } },
      };
    }
  }
  messages.LiveState = {
    name: 'state',
    title: 'Current state (first message of a feed)',
    contentType: 'application/json',
    payload: { type: 'object', required: ['state'], properties: { state: { type: 'object' } } },
  };
  messages.LiveChange = {
    name: 'change',
    title: 'One event and the read model state after it (SSE `event:` = its type, `id:` = resume position)',
    contentType: 'application/json',
    payload: {
      type: 'object',
      required: ['event', 'state'],
      properties: {
        event: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            schemaVersion: { type: 'integer' },
            version: { type: 'integer' },
            occurredAt: { type: 'string', format: 'date-time' },
            data: { type: 'object', description: "The event's public payload (its contract above)" },
          },
        },
        state: { type: 'object' },
      },
    },
  };
  for (const feed of liveFeeds(contexts)) {
    const id = `live${feed.path.replace(/[{}]/g, '').replaceAll('/', '.')}`;
    const parameters = Object.fromEntries(
      [...feed.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name, { description: `The ${name} to follow` }]),
    );
    channels[id] = {
      address: feed.path,
      title: `Live feed ${feed.path}`,
      description: `${feed.what}. Server-Sent Events (text/event-stream); see docs/live-feeds.md.`,
      servers: [ref('#/servers/http')],
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
      messages: {
        LiveState: ref('#/components/messages/LiveState'),
        LiveChange: ref('#/components/messages/LiveChange'),
      },
    };
    operations[`${feed.context}.streams.${id}`] = {
      action: 'send',
      title: `${feed.context} streams ${feed.path}`,
      channel: ref(`#/channels/${id}`),
      messages: [ref(`#/channels/${id}/messages/LiveState`), ref(`#/channels/${id}/messages/LiveChange`)],
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: `${title}: events`,
      version: '1.0.0',
      description:
        'The events the services publish on Kafka (generated from the zod contracts that validate them) and the ' +
        'live feeds they stream to web clients.',
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: { host: 'localhost:9092', protocol: 'kafka', description: 'The brokers of KAFKA_BROKERS' },
      http: { host: 'localhost:3000', protocol: 'http', description: 'The HTTP API of each service (live feeds)' },
    },
    channels,
    operations,
    components: { messages },
  };
};
