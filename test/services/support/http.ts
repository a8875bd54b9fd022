import type { Server } from 'node:http';
import request from 'supertest';
import { Api } from '../../e2e/support/api.js';

/** The e2e suite's API client, over real HTTP to a service's base URL instead of an in-process server. */
export class HttpApi extends Api {
  constructor(readonly baseUrl: string) {
    super(undefined as unknown as Server);
  }

  override http() {
    return request(this.baseUrl);
  }
}
