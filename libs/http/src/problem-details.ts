import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export const PROBLEM_JSON = 'application/problem+json';

/** One invalid input: where it is (a JSON pointer-ish path) and what is wrong with it. */
export class FieldError {
  @ApiProperty({ example: 'lines.0.quantity' }) field!: string;
  @ApiProperty({ example: 'quantity must be an integer number' }) message!: string;
}

/** RFC 9457 problem details, as every error of this API is answered. */
export class ProblemDetails {
  @ApiProperty({ example: 'urn:problem:validation-failed', description: 'Identifies the problem type' })
  type!: string;
  @ApiProperty({ example: 'Request validation failed' }) title!: string;
  @ApiProperty({ type: 'integer', example: 400, description: 'The HTTP status, repeated' }) status!: number;
  @ApiPropertyOptional({ example: 'lines.0.quantity must be an integer number' }) detail?: string;
  @ApiPropertyOptional({ example: '/orders' }) instance?: string;
  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'Stable machine-readable code' }) code!: string;
  @ApiPropertyOptional({ type: [FieldError] }) errors?: FieldError[];
  @ApiPropertyOptional({
    example: '5b0e0c52-54a3-4c49-9b4b-3bb1f5a7d2d1',
    description: 'The x-correlation-id of the request, for the logs',
  })
  correlationId?: string;
  [extension: string]: unknown;
}

export const problemType = (code: string): string => `urn:problem:${code.toLowerCase().replaceAll('_', '-')}`;

/** The title of a code: `ORDER_NOT_FOUND` -> `Order not found`. */
export const problemTitle = (code: string): string => {
  const words = code.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};
