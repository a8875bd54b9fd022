import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { PROBLEM_JSON, ProblemDetails } from './problem-details.js';

const problem = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: { [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
  });

/** Documents the problem+json answers an endpoint can give. */
export const ApiProblems = (...statuses: (400 | 404 | 409 | 413 | 503)[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      problem(
        status,
        {
          400: 'Invalid input: malformed JSON, unknown or wrongly typed fields (see `errors`), or a broken business input rule',
          404: 'No such aggregate',
          409: 'Business rule refused the command, or concurrent modification persisted after retries',
          413: 'Request body larger than the limit',
          503: 'A dependency is unavailable, or the read model has not caught up with `minVersion` in time',
        }[status],
      ),
    ),
  );

export { ProblemDetails };
