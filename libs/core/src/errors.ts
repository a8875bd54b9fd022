/**
 * The few kinds of failure the HTTP edge turns into problem+json. Codes are stable strings so they
 * survive a process boundary (compare codes, not classes).
 */
export type ErrorKind = 'invalid' | 'not_found' | 'conflict' | 'unprocessable' | 'too_large' | 'unavailable';

export class ApplicationError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A business rule refused the command (HTTP 409). */
export class BusinessRuleViolation extends ApplicationError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 'conflict', message, details);
  }
}

/** The command was well-formed but its content breaks an invariant that only the domain knows (HTTP 400). */
export class InvalidCommand extends ApplicationError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 'invalid', message, details);
  }
}

export class NotFound extends ApplicationError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 'not_found', message, details);
  }
}
