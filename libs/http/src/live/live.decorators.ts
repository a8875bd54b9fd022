import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiHeader, ApiOkResponse, ApiProduces } from '@nestjs/swagger';
import { ApiProblems } from '../api-responses.js';
import { ACCESS_METADATA, LIVE_TOKEN_COOKIE, type AccessRule } from '../auth/access.guard.js';
import type { Role } from '../auth/principal.js';
import { BEARER_SCHEME } from '../auth/access.decorators.js';

/** Metadata of a live feed operation (`what` it shows): the AsyncAPI document lists the feeds by it. */
export const LIVE_FEED_METADATA = 'app:live-feed';

/** Name of the cookie security scheme in the OpenAPI document. */
export const LIVE_COOKIE_SCHEME = 'live-cookie';

const FORMAT = [
  'A `text/event-stream` (Server-Sent Events): messages of `id:` (the position to resume from),',
  '`event:` (the event type; `state` for the current state, `ready`/`reset` for feeds of many streams,',
  '`shutdown` before the server closes) and `data:` (JSON `{ "event": { type, schemaVersion, version,',
  'occurredAt, data }, "state": <the read model document after it> }`). A comment line every 15 s is the',
  'heartbeat. Reconnect with `Last-Event-ID` to get only what came after (EventSource does it by itself).',
  'Authentication: `Authorization: Bearer`, or the `live_token` cookie that `POST /live/session` sets',
  '(EventSource cannot send headers).',
].join(' ');

/**
 * One message of the stream, by its fields (OpenAPI 3.0 has no `itemSchema`, which 3.2 adds for event streams:
 * tools read the `schema` of a `text/event-stream` as that of each message, as here).
 */
const SSE_MESSAGE = {
  type: 'object',
  required: ['event', 'data'],
  properties: {
    id: { type: 'string', description: 'The position to resume from (`Last-Event-ID`); absent on `shutdown`' },
    event: { type: 'string', description: 'The event type, or `state`, `ready`, `reset`, `shutdown`' },
    data: { type: 'string', description: 'JSON: `{ "event": {...}, "state": {...} }`, or `{}`' },
    retry: { type: 'integer', description: 'Reconnection delay in milliseconds (first message only)' },
  },
};

/**
 * A live feed operation (Server-Sent Events), for any caller or only `roles`: authenticated like the API (bearer token, or the live cookie
 * since EventSource sends no headers), documented as `text/event-stream` with its message format and limits.
 */
export const LiveFeedOperation = (what: string, ...roles: Role[]) =>
  applyDecorators(
    SetMetadata(ACCESS_METADATA, { roles, cookie: true } satisfies AccessRule),
    SetMetadata(LIVE_FEED_METADATA, what),
    ApiBearerAuth(BEARER_SCHEME),
    ApiCookieAuth(LIVE_COOKIE_SCHEME),
    ApiProduces('text/event-stream'),
    ApiHeader({
      name: 'Last-Event-ID',
      required: false,
      description: 'The `id` of the last message received: the feed resumes after it, without gap or repeat',
    }),
    ApiOkResponse({
      description: `${what}. ${FORMAT}`,
      content: {
        'text/event-stream': {
          schema: SSE_MESSAGE,
          example: 'id: 2\nevent: OrderConfirmed\ndata: {"event":{"type":"OrderConfirmed",...},"state":{...}}\n\n',
        },
      },
    }),
    ApiProblems({
      400: ['VALIDATION_FAILED'],
      401: ['UNAUTHENTICATED', 'TOKEN_INVALID'],
      ...(roles.length > 0 ? { 403: ['FORBIDDEN'] } : {}),
      429: ['LIVE_CONNECTIONS_PER_CALLER', 'RATE_LIMITED'],
      431: ['HEADERS_TOO_LARGE'],
      503: ['LIVE_CONNECTIONS_EXHAUSTED', 'LIVE_FEEDS_STARTING'],
    }),
  );

export { LIVE_TOKEN_COOKIE };
