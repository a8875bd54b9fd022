import type { Server } from 'node:http';
import { Api } from '../../e2e/support/api.js';
import { request, type CheckedAgent } from '../../e2e/support/openapi-contract.js';

/**
 * The e2e suite's API client, over real HTTP to a service's base URL instead of an in-process server;
 * like there, every response is checked against that service's OpenAPI document.
 */
export class HttpApi extends Api {
  constructor(readonly baseUrl: string) {
    super(undefined as unknown as Server);
  }

  override http(): CheckedAgent {
    return request(this.baseUrl);
  }
}
