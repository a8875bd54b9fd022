import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApplicationError, type ErrorKind } from '@app/core';
import { PROBLEM_JSON, problemTitle, problemType, type FieldError, type ProblemDetails } from './problem-details.js';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** Thrown by the validation pipe; carries the per-field errors. */
export class RequestValidationError extends HttpException {
  constructor(readonly fieldErrors: FieldError[]) {
    super('Request validation failed', HttpStatus.BAD_REQUEST);
  }
}

/** An answer of the HTTP edge itself (authentication, authorization) with a stable code and its headers. */
export class HttpProblem extends HttpException {
  constructor(
    readonly code: string,
    status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message, status);
  }
}

/**
 * The one place errors become HTTP: every failure is answered as RFC 9457 problem+json. Application
 * errors map by kind; Nest HTTP exceptions keep their status; anything else is a 500 whose details stay
 * in the log, not in the response.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  /**
   * @param allowedMethods the methods routed for a path (empty: none), asked only when no route matched
   *   the request: a known path asked with a method it does not serve is answered 405 with `Allow` (RFC
   *   9110 15.5.6), not 404, at no cost to the requests that do match a route.
   */
  constructor(private readonly allowedMethods: (path: string) => readonly string[] = () => []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    if (isRouteNotFound(exception, request)) {
      const allowed = this.allowedMethods(request.path);
      if (allowed.length > 0) {
        exception = new HttpProblem(
          'METHOD_NOT_ALLOWED',
          HttpStatus.METHOD_NOT_ALLOWED,
          `${request.method} is not served on ${request.path}; allowed: ${allowed.join(', ')}`,
          { Allow: allowed.join(', ') },
        );
      }
    }
    const problem = this.toProblem(exception);
    problem.instance = request.originalUrl?.split('?')[0];
    const correlationId = response.getHeader('x-correlation-id');
    if (typeof correlationId === 'string') problem.correlationId = correlationId;

    const summary = `${request.method} ${request.originalUrl} -> ${problem.status} ${problem.code}`;
    if (problem.code === 'INTERNAL_ERROR') {
      // A bug: nothing mapped it. The stack is for the developer; the client only gets the code.
      this.logger.error(`${summary}: ${(exception as Error)?.message}`, (exception as Error)?.stack);
    } else if (problem.status >= 500) {
      // An expected answer (a dependency down, a view behind): worth a line for operators, not a stack.
      this.logger.warn(`${summary}: ${(exception as Error).message}`);
    }
    // An HttpProblem says itself whether to retry (a 503 after an append of unknown outcome does not
    // invite a retry of a request without Idempotency-Key); the others are worth retrying in a second.
    if (problem.status === HttpStatus.SERVICE_UNAVAILABLE && !(exception instanceof HttpProblem))
      response.setHeader('Retry-After', '1');
    if (exception instanceof HttpProblem) {
      for (const [name, value] of Object.entries(exception.headers)) response.setHeader(name, value);
    }
    if (response.headersSent) return;
    response.status(problem.status).type(PROBLEM_JSON).send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown): ProblemDetails {
    if (exception instanceof RequestValidationError) {
      return {
        ...base('VALIDATION_FAILED', 'Request validation failed', 400),
        detail: exception.fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors: exception.fieldErrors,
      };
    }
    if (exception instanceof ApplicationError) {
      const status = STATUS_BY_KIND[exception.kind];
      // Details are extension members; the standard members always win over a same-named detail.
      return {
        ...(exception.details ?? {}),
        ...base(exception.code, problemTitle(exception.code), status),
        detail: exception.message,
      };
    }
    if (exception instanceof HttpProblem) {
      const status = exception.getStatus();
      return { ...base(exception.code, problemTitle(exception.code), status), detail: exception.message };
    }
    if (exception instanceof HttpException && exception.cause instanceof URIError) {
      // Express could not percent-decode a path parameter while routing: the URL is at fault.
      return { ...base('MALFORMED_URL', 'Malformed URL', 400), detail: `Malformed URL: ${exception.message}` };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = HttpStatus[status] ?? 'HTTP_ERROR';
      return { ...base(code, problemTitle(code), status), detail: exception.message };
    }
    return base('INTERNAL_ERROR', 'Internal server error', 500);
  }
}

/** Nest's answer to a request no route matched (its not-found handler), not a 404 of the application. */
const isRouteNotFound = (exception: unknown, request: Request): boolean =>
  exception instanceof NotFoundException && exception.message === `Cannot ${request.method} ${request.originalUrl}`;

const base = (code: string, title: string, status: number): ProblemDetails => ({
  type: problemType(code),
  title,
  status,
  code,
});
