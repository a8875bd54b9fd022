import { isLoopbackHost } from './loopback.js';

describe('isLoopbackHost', () => {
  it.each(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'])('takes %s for loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['10.0.0.1', '128.0.0.1', 'localhost.example.com', '127.0.0.1.example.com', 'host.docker.internal', ''])(
    'does not take %s for loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});
