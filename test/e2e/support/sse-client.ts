import { request as httpRequest, type IncomingMessage } from 'node:http';
import { eventually } from './eventually.js';

/** One parsed Server-Sent Event. */
export interface SseMessage {
  readonly id?: string;
  readonly event: string;
  /** The JSON of `data:`. */
  readonly data: any;
}

export interface SseClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** Messages received so far, in order. */
  readonly messages: SseMessage[];
  /** Comment lines received (heartbeats). */
  readonly comments: string[];
  /** The body of a refused request (problem+json). */
  readonly body: string;
  /** Resolves when the server ended the response. */
  readonly ended: Promise<void>;
  /** Waits until `predicate` holds for the messages received. */
  until(predicate: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

/**
 * A minimal EventSource for tests, on node:http: parses `id`, `event`, `data` and comment lines as the HTML
 * standard defines them (no reconnection: tests reconnect explicitly, with Last-Event-ID).
 */
export const openSse = (baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, baseUrl), { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      let body = '';
      let buffer = '';
      let ended!: () => void;
      const endedPromise = new Promise<void>((done) => (ended = done));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
            }
          }
          if (fields.event !== undefined || fields.data !== undefined)
            messages.push({ id: fields.id, event: fields.event ?? 'message', data: JSON.parse(fields.data ?? 'null') });
        }
      });
      res.on('end', () => ended());
      res.on('close', () => ended());
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        comments,
        get body() {
          return body;
        },
        ended: endedPromise,
        until: (predicate, timeoutMs = 10_000) =>
          eventually(() => {
            if (!predicate(messages)) throw new Error(`not yet: ${JSON.stringify(messages.map((m) => m.event))}`);
            return messages;
          }, timeoutMs),
        close: () => req.destroy(),
      };
      if (res.statusCode === 200) resolve(client);
      else res.on('end', () => resolve(client));
    });
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
