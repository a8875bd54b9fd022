import { Logger, type ArgumentsHost } from '@nestjs/common';
import { jest } from '@jest/globals';
import { ApplicationError } from '@app/core';
import { ProblemDetailsFilter } from './problem-details.filter.js';

const answer = (exception: unknown) => {
  const sent: { status?: number; body?: string; headers: Record<string, string> } = { headers: {} };
  const response = {
    headersSent: false,
    getHeader: () => 'corr-1',
    setHeader: (name: string, value: string) => (sent.headers[name] = value),
    status(code: number) {
      sent.status = code;
      return this;
    },
    type() {
      return this;
    },
    send: (body: string) => (sent.body = body),
  };
  const request = { method: 'GET', originalUrl: '/orders/1?minVersion=9' };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
  new ProblemDetailsFilter().catch(exception, host);
  return { ...sent, problem: JSON.parse(sent.body!) as Record<string, unknown> };
};

describe('ProblemDetailsFilter', () => {
  let error: ReturnType<typeof jest.spyOn>;
  let warn: ReturnType<typeof jest.spyOn>;

  beforeEach(() => {
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  describe('when something unmapped is thrown (a bug)', () => {
    it('answers a bare 500 and logs the error with its stack', () => {
      const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
      const { status, problem } = answer(bug);
      expect(status).toBe(500);
      expect(problem).toMatchObject({ code: 'INTERNAL_ERROR', instance: '/orders/1', correlationId: 'corr-1' });
      expect(JSON.stringify(problem)).not.toContain('length');
      expect(error).toHaveBeenCalledWith(expect.stringContaining('-> 500 INTERNAL_ERROR'), bug.stack);
      expect(warn).not.toHaveBeenCalled();
    });
  });

  describe('when a dependency is unavailable (an expected 503)', () => {
    it('answers 503 with Retry-After and logs one warning line, no stack', () => {
      const behind = new ApplicationError('READ_MODEL_BEHIND', 'unavailable', 'Order 1 has not reached version 9');
      const { status, headers, problem } = answer(behind);
      expect(status).toBe(503);
      expect(headers['Retry-After']).toBe('1');
      expect(problem).toMatchObject({ code: 'READ_MODEL_BEHIND', detail: 'Order 1 has not reached version 9' });
      expect(warn).toHaveBeenCalledWith(
        'GET /orders/1?minVersion=9 -> 503 READ_MODEL_BEHIND: Order 1 has not reached version 9',
      );
      expect(error).not.toHaveBeenCalled();
    });
  });

  describe('when the client is at fault (4xx)', () => {
    it('logs nothing', () => {
      const { status } = answer(new ApplicationError('ORDER_NOT_FOUND', 'not_found', 'Order 1 does not exist'));
      expect(status).toBe(404);
      expect(error).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
    });
  });
});
