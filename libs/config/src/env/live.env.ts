import { z } from 'zod';
import { integer } from './variables.js';

/** Live feeds (Server-Sent Events): connection limits and timing, per process. See docs/live-feeds.md. */
export const liveEnv = z.object({
  /** Open live connections of one process; beyond: 503 LIVE_CONNECTIONS_EXHAUSTED. */
  LIVE_MAX_CONNECTIONS: integer(1, 100_000).default(2_000),
  /** Open live connections of one caller (token subject, or client address); beyond: 429. */
  LIVE_MAX_CONNECTIONS_PER_CALLER: integer(1, 100_000).default(16),
  /** Comment line sent on idle connections, so proxies and clients see them alive. */
  LIVE_HEARTBEAT_MS: integer(1_000, 300_000).default(15_000),
  /** Unsent bytes of one connection past which its client is disconnected as too slow. */
  LIVE_MAX_BUFFERED_KB: integer(16, 65_536).default(256),
});
