import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { RequestValidationError } from './problem-details.filter.js';
import type { FieldError } from './problem-details.js';

/** Flattens class-validator's tree into `lines.0.quantity: message` pairs. */
export const flattenValidationErrors = (errors: ValidationError[], parent = ''): FieldError[] =>
  errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });

/**
 * Whitelist DTOs: unknown fields are refused (not silently dropped), types are checked, nothing is
 * converted implicitly; query strings are converted only where a DTO says `@Type(() => Number)`.
 */
export const strictValidationPipe = (): ValidationPipe =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
  });
