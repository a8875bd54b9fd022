import { randomUUID } from 'node:crypto';
import { METHODS, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { json, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { externalCommand, keyedCommand, runWithCorrelation, type CommandContext } from '@app/event-sourcing';
import { PROBLEM_JSON, problemType } from './problem-details.js';
import { sendProblem } from './send-problem.js';
import { Admission, type AdmissionOptions } from './admission.js';
import { httpMetricsMiddleware } from './http-metrics.js';
import { ProblemDetailsFilter } from './problem-details.filter.js';
import { strictValidationPipe } from './validation.js';
import { setUpSwagger, type OpenApiDocumentOptions } from './openapi-document.js';
import { IDEMPOTENCY_KEY_HEADER, IdempotencyKeyInterceptor, type RequestWithIdempotency } from './idempotency.js';

export interface HttpAppOptions extends OpenApiDocumentOptions {
  /** Largest accepted request body, e.g. '64kb'. */
  readonly bodyLimit: string;
  /** Serve Swagger UI at /docs and the document at /docs-json (default true). */
  readonly swaggerEnabled?: boolean;
  /** Origins CORS allows (`*`: any); empty or absent: CORS off, browsers on other origins are refused. */
  readonly corsOrigins?: readonly string[];
  /** Admission control of commands (admission.ts); absent: every command is admitted. */
  readonly admission?: AdmissionOptions;
}

/** Keys that would reach object prototypes if a body were ever merged into an object: refused outright. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

class ForbiddenKeyError extends SyntaxError {}

/** Deeper bodies are refused before parsing: no DTO nests this far, and deep nesting costs stack. */
const MAX_JSON_DEPTH = 32;

class TooDeepError extends SyntaxError {}

/** Scans raw JSON for its nesting depth (brackets outside strings), without parsing it. */
const assertJsonDepth = (body: Buffer): void => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new TooDeepError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
};

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Everything an HTTP app of this starter shares: JSON body limits and parse errors as problem+json,
 * correlation ids, strict validation, the problem+json filter, Swagger UI at /docs (JSON at /docs-json)
 * and shutdown hooks. Create the app with `{ bodyParser: false }` so the parser here is the only one.
 */
export const configureHttpApp = (app: NestExpressApplication, options: HttpAppOptions): void => {
  app.use(httpMetricsMiddleware);
  // Safe defaults: security headers (CSP, HSTS, nosniff, frame denial...), no framework fingerprint.
  app.disable('x-powered-by');
  // No upgrade-insecure-requests: it would send Swagger UI's own files to https:// on a plain-http
  // development server (TLS for the API is terminated in front of it, see README "Security").
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  const origins = options.corsOrigins ?? [];
  if (origins.length > 0) {
    app.enableCors({
      origin: origins.includes('*') ? true : [...origins],
      allowedHeaders: ['Authorization', 'Content-Type', 'x-correlation-id', IDEMPOTENCY_KEY_HEADER],
      exposedHeaders: ['x-correlation-id', 'Retry-After', 'WWW-Authenticate'],
    });
  }
  app.use(correlationIdMiddleware);
  // Before the body is read: a shed command costs no parsing.
  if (options.admission) app.use(new Admission(options.admission).middleware);
  app.use(unsupportedMediaTypeMiddleware);
  app.use(
    json({
      limit: options.bodyLimit,
      // Any JSON value parses; bodyMustBeObject then answers what is wrong with `null` or `"x"`.
      strict: false,
      type: JSON_TYPES,
      verify: (_req: unknown, _res: unknown, body: Buffer) => assertJsonDepth(body),
      reviver: (key: string, value: unknown) => {
        if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(`Property name "${key}" is not allowed`);
        return value;
      },
    }),
  );
  app.use(bodyMustBeObject);
  app.use(bodyErrorMiddleware);
  app.useGlobalPipes(strictValidationPipe());
  app.useGlobalInterceptors(new IdempotencyKeyInterceptor());
  const express = app.getHttpAdapter().getInstance() as unknown as { router: { stack: RouteLayer[] } };
  app.useGlobalFilters(new ProblemDetailsFilter((path) => allowedMethods(express.router, path)));
  // After a graceful shutdown, exit instead of re-raising the signal: 'exit' listeners run (the final
  // write of --cpu-prof profiles, of instrumentation flushing at exit), and the code is 0, not SIGTERM.
  app.enableShutdownHooks(undefined, { useProcessExit: true }); // every shutdown signal
  (app.getHttpServer() as Server).on('clientError', answerClientError);
  if (options.swaggerEnabled ?? true) setUpSwagger(app, options);
};

const JSON_TYPES = ['application/json', 'application/*+json'];

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): boolean;
}

/** The methods routed for a path (HEAD with GET, as Express serves it); empty when no route matches. */
const allowedMethods = (router: { stack: RouteLayer[] }, path: string): string[] => {
  const methods = new Set<string>();
  for (const layer of router.stack) {
    if (!layer.route || !layer.match(path)) continue;
    // A route of every method is middleware mounted for all paths (Nest registers the access logger
    // so), not an operation: it allows nothing.
    const on = Object.entries(layer.route.methods).filter(([, enabled]) => enabled);
    if (on.some(([method]) => method === '_all') || on.length >= METHODS.length) continue;
    for (const [method] of on) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A body in anything but JSON is refused with 415 instead of being ignored (which would answer it with
 * "field missing" messages about fields the client did send). An empty body is no body: commands that
 * take none (a cancel) need no content type.
 */
const unsupportedMediaTypeMiddleware = (req: Request, res: Response, next: NextFunction): void => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
  if (!BODY_METHODS.has(req.method) || !hasBody || req.is(JSON_TYPES)) return next();
  const sent = req.headers['content-type'] ? req.headers['content-type'].split(';')[0]!.trim() : 'no content type';
  sendProblem(req, res, {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    detail: `The request body must be application/json (UTF-8), not ${sent.slice(0, 100)}`,
  });
};

/** Every body of this API is a JSON object; `null`, strings, numbers and arrays are refused as such. */
const bodyMustBeObject = (req: Request, res: Response, next: NextFunction): void => {
  const body: unknown = req.body;
  if (body === undefined || (typeof body === 'object' && body !== null && !Array.isArray(body))) return next();
  const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
  const message = `the request body must be a JSON object, not ${kind}`;
  sendProblem(req, res, {
    status: 400,
    code: 'VALIDATION_FAILED',
    title: 'Request validation failed',
    detail: `(body): ${message}`,
    errors: [{ field: '(body)', message }],
  });
};

/**
 * Requests Node's HTTP parser refuses before any middleware runs (headers or URL over its limit,
 * broken request lines) are answered as problem+json too, instead of a bare status line.
 */
const answerClientError = (error: Error & { code?: string }, socket: Duplex): void => {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ([431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE'] as const)
      : ([400, 'Bad Request', 'MALFORMED_REQUEST'] as const);
  const body = JSON.stringify({
    type: problemType(code),
    title: reason,
    status,
    code,
    detail: status === 431 ? 'The request line and headers exceed the server limit' : 'The request could not be parsed',
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
};

const correlationIdMiddleware = (req: Request, res: Response, next: NextFunction): void => {
  const sent = req.header('x-correlation-id');
  const correlationId = sent && CORRELATION_ID.test(sent) ? sent : randomUUID();
  res.setHeader('x-correlation-id', correlationId);
  runWithCorrelation(correlationId, next);
};

/**
 * Body parser failures (malformed JSON, too large, forbidden keys, unsupported charset), answered as
 * problem+json. (Paths that cannot be decoded fail while routing, later: ProblemDetailsFilter answers them.)
 */
const bodyErrorMiddleware = (error: unknown, req: Request, res: Response, next: NextFunction): void => {
  if (!error || typeof error !== 'object') return next(error);
  const classified = classifyBodyError(error);
  if (!classified) return next(error);
  const [code, status, title] = classified;
  const own = error instanceof ForbiddenKeyError || error instanceof TooDeepError;
  sendProblem(req, res, { status, code, title, detail: own ? error.message : `${title}: ${(error as Error).message}` });
};

const classifyBodyError = (error: object): [code: string, status: number, title: string] | undefined => {
  const { status, type: kind } = error as { status?: number; type?: string };
  if (error instanceof ForbiddenKeyError || error instanceof TooDeepError || kind === 'entity.parse.failed')
    return ['MALFORMED_JSON', 400, 'Malformed JSON body'];
  if (kind === 'entity.too.large') return ['PAYLOAD_TOO_LARGE', 413, 'Request body too large'];
  if (kind === 'charset.unsupported' || kind === 'encoding.unsupported')
    return ['UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported media type'];
  if (status && status >= 400 && status < 500) return ['BAD_REQUEST_BODY', 400, 'Unreadable request body'];
  return undefined;
};

/**
 * The command context of the current request: the request's correlation id, and a fresh command id, or
 * one derived from the caller's Idempotency-Key (read by IdempotencyKeyInterceptor).
 */
export const RequestContext = createParamDecorator((_: unknown, ctx: ExecutionContext): CommandContext => {
  const http = ctx.switchToHttp();
  const correlationId = http.getResponse<Response>().getHeader('x-correlation-id') as string | undefined;
  const { idempotency } = http.getRequest<RequestWithIdempotency>();
  return idempotency ? keyedCommand(idempotency, correlationId) : externalCommand(correlationId);
});

/**
 * An AbortSignal aborted when the client goes away before its answer is written (the connection closed), so
 * that work done only for that answer (a `?minVersion=` wait) stops and frees what it holds.
 */
export const ClientGone = createParamDecorator((_: unknown, ctx: ExecutionContext): AbortSignal => {
  const response = ctx.switchToHttp().getResponse<Response>();
  const controller = new AbortController();
  if (response.destroyed && !response.writableFinished) controller.abort();
  else response.once('close', () => response.writableFinished || controller.abort());
  return controller.signal;
});
