import type { Request, Response } from 'express';
import { PROBLEM_JSON, problemTitle, problemType, type FieldError, type ProblemDetails } from './problem-details.js';

/** Sends a problem+json answer from a middleware (before Nest's exception filter can see the request). */
export const sendProblem = (
  req: Request,
  res: Response,
  problem: { status: number; code: string; title?: string; detail: string; errors?: FieldError[] },
): void => {
  const body: ProblemDetails = {
    ...problem,
    type: problemType(problem.code),
    title: problem.title ?? problemTitle(problem.code),
    instance: req.originalUrl.split('?')[0],
  };
  const correlationId = res.getHeader('x-correlation-id');
  if (typeof correlationId === 'string') body.correlationId = correlationId;
  res.status(problem.status).type(PROBLEM_JSON).send(JSON.stringify(body));
};
