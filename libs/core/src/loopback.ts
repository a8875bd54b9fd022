/**
 * The one loopback rule of the code base: `localhost`, the IPv6 loopback (with or without brackets, as
 * `URL.hostname` gives it) and all of 127.0.0.0/8. Configuration checks use it to allow plain HTTP to a
 * local server; adapters use it to recognise local single-endpoint servers; infra/infra.mjs to decide
 * which servers it runs itself (importing this file directly: Node erases its types).
 */
export const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
