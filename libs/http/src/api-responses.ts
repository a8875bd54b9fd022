import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse, type ApiResponseOptions } from '@nestjs/swagger';
import { PROBLEM_JSON, ProblemDetails, problemTitle, problemType } from './problem-details.js';

export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 431 | 503;

/** The stable codes each problem status of one operation can carry. */
export type ProblemCodes = Partial<Record<ProblemStatus, readonly string[]>>;

const STATUS_DESCRIPTIONS: Record<ProblemStatus, string> = {
  400: 'Invalid input: malformed JSON, a body that is not a JSON object, unknown or wrongly typed fields (see `errors`), or a broken business input rule',
  401: 'No bearer token, or one that is malformed, expired, badly signed or for another issuer or audience (only with `AUTH_MODE=jwt`; see `WWW-Authenticate`)',
  403: 'The token is valid but its roles or subject do not allow this operation',
  404: 'No such aggregate',
  409: 'A business rule refused the command, a concurrent modification persisted after the bounded retries, or a request with the same `Idempotency-Key` is still running',
  413: 'Request body larger than the limit, or an append larger than the event store takes',
  415: 'The request has a body that is not `application/json` (or `+json`) in UTF-8',
  422: 'The `Idempotency-Key` was used before with another request (another path or body)',
  429: 'Too many requests from this client in the rate-limit window (see `Retry-After`)',
  431: 'The request line (URL with its query) and headers exceed the server limit (16 kB)',
  503: 'A dependency is unavailable, the service sheds load (`OVERLOADED`: commands beyond what it serves at once), or the read model has not caught up with `minVersion` in time (see `Retry-After`); `APPEND_OUTCOME_UNKNOWN`: the command may have been applied (`Retry-After` only when the request had an `Idempotency-Key`)',
};

/** What the HTTP edge itself answers, worded as it answers it (domain codes get a generic example). */
const EDGE_EXAMPLES: Record<string, { title: string; detail: string; errors?: ProblemDetails['errors'] }> = {
  VALIDATION_FAILED: {
    title: 'Request validation failed',
    detail: 'lines.0.quantity: quantity must be an integer number',
    errors: [{ field: 'lines.0.quantity', message: 'quantity must be an integer number' }],
  },
  MALFORMED_JSON: { title: 'Malformed JSON body', detail: 'Malformed JSON body: Unexpected end of JSON input' },
  BAD_REQUEST_BODY: { title: 'Unreadable request body', detail: 'request size did not match content length' },
  MALFORMED_URL: { title: 'Malformed URL', detail: "Malformed URL: Failed to decode param '%E0%A4%A'" },
  PAYLOAD_TOO_LARGE: { title: 'Request body too large', detail: 'Request body too large: request entity too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    title: 'Unsupported media type',
    detail: 'The request body must be application/json (UTF-8), not text/plain',
  },
  HEADERS_TOO_LARGE: {
    title: 'Request Header Fields Too Large',
    detail: 'The request line and headers exceed the server limit',
  },
  CURSOR_INVALID: { title: problemTitle('CURSOR_INVALID'), detail: 'The cursor is not one this API returned' },
  CONCURRENCY_CONFLICT: {
    title: problemTitle('CONCURRENCY_CONFLICT'),
    detail: 'Stream was modified concurrently (expected version 3, actual 4)',
  },
  UNAUTHENTICATED: {
    title: problemTitle('UNAUTHENTICATED'),
    detail: 'This operation needs a bearer token (Authorization: Bearer <JWT>)',
  },
  TOKEN_INVALID: {
    title: problemTitle('TOKEN_INVALID'),
    detail: 'The bearer token was refused: the token has expired',
  },
  FORBIDDEN: { title: problemTitle('FORBIDDEN'), detail: 'This operation needs one of the roles: operator, admin' },
  RATE_LIMITED: { title: problemTitle('RATE_LIMITED'), detail: 'Too many requests; retry after 3 s' },
  TOO_MANY_WAITS: {
    title: problemTitle('TOO_MANY_WAITS'),
    detail: '1000 queries already wait for a minVersion in this process; retry shortly',
  },
  IDEMPOTENCY_KEY_IN_FLIGHT: {
    title: problemTitle('IDEMPOTENCY_KEY_IN_FLIGHT'),
    detail: 'A request with this Idempotency-Key is still being processed; retry when it has been answered',
  },
  IDEMPOTENCY_KEY_REUSED: {
    title: problemTitle('IDEMPOTENCY_KEY_REUSED'),
    detail: 'This Idempotency-Key was used with another request; send a new key for a new request',
  },
  APPEND_OUTCOME_UNKNOWN: {
    title: problemTitle('APPEND_OUTCOME_UNKNOWN'),
    detail:
      'The event store failed while storing this command: it may have been applied. Check the resource (GET it, ' +
      'or list it) before sending it again; sending it again with an Idempotency-Key makes such retries safe.',
  },
  OVERLOADED: {
    title: 'Service overloaded',
    detail:
      'The service is overloaded: 128 commands are already being served by this process (at most 128); retry after 1 s',
  },
  READ_MODEL_BEHIND: {
    title: problemTitle('READ_MODEL_BEHIND'),
    detail: 'The view has not reached version 4 after 2000 ms (it is at 3); retry shortly',
  },
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', example: 1 } },
};

/** A command's 503: no Retry-After for an append of unknown outcome sent without an Idempotency-Key. */
const COMMAND_RETRY_AFTER = {
  'Retry-After': {
    ...RETRY_AFTER['Retry-After'],
    required: false,
    description:
      'Seconds to wait before retrying; absent for `APPEND_OUTCOME_UNKNOWN` when the request had no ' +
      '`Idempotency-Key` (retrying could apply the command twice)',
  },
};

const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    description: 'The bearer scheme, and why the token was refused (RFC 6750)',
    schema: { type: 'string', example: 'Bearer realm="api", error="invalid_token"' },
  },
};

const HEADERS_OF: Partial<Record<ProblemStatus, Extract<ApiResponseOptions, { headers?: unknown }>['headers']>> = {
  401: WWW_AUTHENTICATE,
  429: RETRY_AFTER,
  503: RETRY_AFTER,
};

const exampleOf = (status: ProblemStatus, code: string) => ({
  summary: code,
  value: {
    type: problemType(code),
    status,
    code,
    ...(EDGE_EXAMPLES[code] ?? { title: problemTitle(code), detail: STATUS_DESCRIPTIONS[status] }),
    correlationId: '5b0e0c52-54a3-4c49-9b4b-3bb1f5a7d2d1',
  },
});

/**
 * Documents the problem+json answers an operation can give: per status its description, one example
 * per code, and a schema that pins `status` and the `code`s (so a client, and the e2e suites, can tell
 * an undocumented answer from a documented one).
 */
export const ApiProblems = (codes: ProblemCodes, headers: typeof HEADERS_OF = {}) =>
  applyDecorators(
    ...Object.entries(codes).map(([key, list]) => {
      const status = Number(key) as ProblemStatus;
      return ApiResponse({
        status,
        // Replaces a schema another decorator gave this status (terminus documents its own 503 body).
        schema: undefined,
        description: `${STATUS_DESCRIPTIONS[status]}. Codes: ${list!.map((c) => `\`${c}\``).join(', ')}`,
        ...((headers[status] ?? HEADERS_OF[status]) ? { headers: headers[status] ?? HEADERS_OF[status] } : {}),
        content: {
          [PROBLEM_JSON]: {
            schema: {
              allOf: [
                { $ref: '#/components/schemas/ProblemDetails' },
                {
                  type: 'object',
                  properties: {
                    status: { type: 'integer', enum: [status] },
                    code: { type: 'string', enum: [...list!] },
                  },
                },
              ],
            },
            examples: Object.fromEntries(list!.map((code) => [code, exampleOf(status, code)])),
          },
        },
      });
    }),
  );

const merge = (base: ProblemCodes, extra: ProblemCodes): ProblemCodes => {
  const merged: ProblemCodes = { ...base };
  for (const [key, list] of Object.entries(extra)) {
    const status = Number(key) as ProblemStatus;
    merged[status] = [...new Set([...(merged[status] ?? []), ...list!])];
  }
  return merged;
};

/**
 * The `Idempotency-Key` values parseIdempotencyKey (idempotency.ts) accepts, as the document states them: a
 * quoted string of 1 to 255 printable characters, or 1 to 255 printable characters neither quoted nor starting
 * with a space (HTTP strips the spaces around a value: trailing ones are allowed here, leading ones cannot be sent).
 */
export const IDEMPOTENCY_KEY_PATTERN =
  '^(?:"[\\x20-\\x7e]{1,255}"|(?!"[\\x20-\\x7e]*" *$)[\\x21-\\x7e](?:[\\x20-\\x7e]{0,253}[\\x21-\\x7e])?) *$';

/** The `Idempotency-Key` request header every command takes (docs/idempotency.md). */
const IdempotencyKeyHeader = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description:
    'Makes the command safe to send again (IETF httpapi idempotency-key draft): the same key with the same ' +
    'request answers the first status and body without a second effect, for `IDEMPOTENCY_WINDOW_SECONDS` ' +
    '(default 24 h); with another request 422 `IDEMPOTENCY_KEY_REUSED`; while the first still runs 409 ' +
    '`IDEMPOTENCY_KEY_IN_FLIGHT`. Scoped to the caller (the token subject). 1 to 255 printable ASCII ' +
    'characters, quoted or not; a fresh UUID per logical request is the usual choice.',
  schema: {
    type: 'string',
    pattern: IDEMPOTENCY_KEY_PATTERN,
    maxLength: 257,
    example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
  },
});

/**
 * What every command (a POST with an optional JSON body, appending to the event store) takes and can
 * answer, plus `extra`: the `Idempotency-Key` header and its answers are documented here, once.
 */
export const ApiCommandProblems = (extra: ProblemCodes = {}) =>
  applyDecorators(
    IdempotencyKeyHeader,
    ApiProblems(
      merge(
        {
          400: ['VALIDATION_FAILED', 'MALFORMED_JSON', 'BAD_REQUEST_BODY'],
          409: ['CONCURRENCY_CONFLICT', 'IDEMPOTENCY_KEY_IN_FLIGHT'],
          413: ['PAYLOAD_TOO_LARGE', 'APPEND_TOO_LARGE'],
          415: ['UNSUPPORTED_MEDIA_TYPE'],
          422: ['IDEMPOTENCY_KEY_REUSED'],
          429: ['RATE_LIMITED'],
          431: ['HEADERS_TOO_LARGE'],
          503: ['EVENT_STORE_UNAVAILABLE', 'APPEND_OUTCOME_UNKNOWN', 'OVERLOADED'],
        },
        extra,
      ),
      { 503: COMMAND_RETRY_AFTER },
    ),
  );

/** What every query (a GET on a read model) can answer, plus `extra`. */
export const ApiQueryProblems = (extra: ProblemCodes = {}) =>
  ApiProblems(
    merge(
      {
        400: ['VALIDATION_FAILED'],
        429: ['RATE_LIMITED'],
        431: ['HEADERS_TOO_LARGE'],
        503: ['READ_STORE_UNAVAILABLE'],
      },
      extra,
    ),
  );

export { ProblemDetails };
