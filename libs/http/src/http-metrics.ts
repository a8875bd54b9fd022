import type { NextFunction, Request, Response } from 'express';
import { Histogram } from 'prom-client';

const httpRequestSeconds = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests, by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

/**
 * Times every request until its response is sent. The route is Express' template (`/orders/:id`), so
 * the label set stays bounded; requests that matched no route count as `(unmatched)`.
 */
export const httpMetricsMiddleware = (req: Request, res: Response, next: NextFunction): void => {
  const stop = httpRequestSeconds.startTimer();
  res.once('finish', () => {
    const route = (req.route as { path?: string } | undefined)?.path;
    stop({
      method: req.method,
      route: route ? `${req.baseUrl}${route}` : '(unmatched)',
      status: String(res.statusCode),
    });
  });
  next();
};
