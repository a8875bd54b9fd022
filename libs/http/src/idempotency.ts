// Idempotency-Key on commands (IETF httpapi idempotency-key draft; docs/idempotency.md). This interceptor
// reads the key, scopes it to the caller and fingerprints the request; RequestContext turns that into a
// keyed command (its id derived from scope + key), and the repository answers a repeat from the record
// its first append left on the stream (no extra round trip). What the store cannot see, a repeat that
// arrives while the first still runs, is refused here (409), per process: across processes the second
// loses the append race and is answered from the record. Written by hand because no kept library fits:
// the Nest/Express idempotency packages keep responses in a store of their own (one more round trip).
import { createHash } from 'node:crypto';
import { HttpStatus, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { catchError, finalize, type Observable } from 'rxjs';
import { AppendOutcomeUnknownError } from '@app/event-sourcing';
import { HttpProblem, RequestValidationError } from './problem-details.filter.js';
import type { Principal } from './auth/principal.js';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** The key of a request, as RequestContext needs it. */
export interface RequestIdempotency {
  /** Whose key it is: the token's subject under JWT, one anonymous scope without authentication. */
  readonly scope: string;
  readonly key: string;
  /** A hash of the method, path and body: the same key with another request is refused (422). */
  readonly fingerprint: string;
}

export type RequestWithIdempotency = Request & { principal?: Principal; idempotency?: RequestIdempotency };

/** Printable ASCII, 1..255 characters; the draft sends it as a structured-field string (quoted). */
const KEY = /^[\x20-\x7e]{1,255}$/;

/** The key as sent (quotes of a structured-field string removed); throws a field error when malformed. */
export const parseIdempotencyKey = (header: string): string => {
  const trimmed = header.trim();
  const key = trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
  if (!KEY.test(key))
    throw new RequestValidationError([
      { field: IDEMPOTENCY_KEY_HEADER, message: 'Idempotency-Key must be 1 to 255 printable ASCII characters' },
    ]);
  return key;
};

export const scopeOf = (principal: Principal | undefined): string =>
  principal?.kind === 'user' ? `sub:${principal.sub}` : 'anonymous';

/** JSON with object keys sorted: the same body in another key order is the same request. */
const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
};

/** 128 bits of SHA-256 (base64url, 22 characters): it is stored with every keyed command. */
export const requestFingerprint = (method: string, path: string, body: unknown): string =>
  createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body ?? {})}`)
    .digest('base64url')
    .slice(0, 22);

/**
 * Global: applies to every POST (the commands). Keys of requests running in this process, per scope,
 * answer 409 IDEMPOTENCY_KEY_IN_FLIGHT; an append whose outcome is unknown answers 503 saying so.
 */
@Injectable()
export class IdempotencyKeyInterceptor implements NestInterceptor {
  readonly #inFlight = new Set<string>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<RequestWithIdempotency>();
    if (request.method !== 'POST') return next.handle();
    const header = request.header(IDEMPOTENCY_KEY_HEADER);
    const keyed = header !== undefined;
    const outcomeUnknown = catchError((error: unknown) => {
      throw error instanceof AppendOutcomeUnknownError ? appendOutcomeUnknown(keyed) : error;
    });
    if (!keyed) return next.handle().pipe(outcomeUnknown);

    const key = parseIdempotencyKey(header);
    const scope = scopeOf(request.principal);
    const path = request.originalUrl.split('?')[0]!;
    request.idempotency = { scope, key, fingerprint: requestFingerprint(request.method, path, request.body) };
    const running = `${scope}\n${key}`;
    if (this.#inFlight.has(running))
      throw new HttpProblem(
        'IDEMPOTENCY_KEY_IN_FLIGHT',
        HttpStatus.CONFLICT,
        'A request with this Idempotency-Key is still being processed; retry when it has been answered',
        { 'Retry-After': '1' },
      );
    this.#inFlight.add(running);
    return next.handle().pipe(
      outcomeUnknown,
      finalize(() => this.#inFlight.delete(running)),
    );
  }
}

/** The 503 of an append whose outcome is unknown: only a keyed request is told to retry. */
const appendOutcomeUnknown = (keyed: boolean): HttpProblem =>
  new HttpProblem(
    'APPEND_OUTCOME_UNKNOWN',
    HttpStatus.SERVICE_UNAVAILABLE,
    'The event store failed while storing this command: it may have been applied. ' +
      (keyed
        ? 'Sending it again with the same Idempotency-Key is safe: it answers as the first run did, or runs it now.'
        : 'Check the resource (GET it, or list it) before sending it again; sending it again with an ' +
          'Idempotency-Key makes such retries safe.'),
    keyed ? { 'Retry-After': '1' } : {},
  );
