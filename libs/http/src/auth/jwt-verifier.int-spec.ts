import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { InvalidTokenError, JwtVerifier } from './jwt-verifier.js';

// JwtVerifier against a real JWKS endpoint (a local HTTP server): RS256 and ES256 keys, rotation, caching.

interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

const signingKey = async (kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> => {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
};

const sign = (key: SigningKey, claims: { sub: string; roles?: string[] }, expiresInSec = 300) =>
  new SignJWT({ roles: claims.roles ?? [] })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject(claims.sub)
    .setIssuer('https://id.test')
    .setAudience('api')
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
    .sign(key.privateKey);

describe('JwtVerifier with a JWKS URL', () => {
  let server: Server;
  let published: SigningKey[] = [];
  let fetches = 0;
  let url: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const verifier = (jwksCooldownMs = 0) =>
    new JwtVerifier(
      { mode: 'jwt', jwksUrl: url, issuer: 'https://id.test', audience: 'api', clockToleranceSec: 5 },
      { jwksCooldownMs },
    );

  it('verifies RS256 and ES256 tokens and fetches the key set once', async () => {
    const [rsa, ec] = await Promise.all([signingKey('rsa-1', 'RS256'), signingKey('ec-1', 'ES256')]);
    published = [rsa, ec];
    fetches = 0;
    const subject = verifier();
    expect(await subject.verify(await sign(rsa, { sub: 'customer-1' }))).toEqual({
      kind: 'user',
      sub: 'customer-1',
      roles: [],
    });
    expect(await subject.verify(await sign(ec, { sub: 'op', roles: ['operator'] }))).toEqual({
      kind: 'user',
      sub: 'op',
      roles: ['operator'],
    });
    expect(fetches).toBe(1);
  });

  it('follows a key rotation: a token of a new key refetches the set', async () => {
    const old = await signingKey('rsa-old', 'RS256');
    published = [old];
    const subject = verifier();
    await subject.verify(await sign(old, { sub: 'a' }));
    const rotated = await signingKey('rsa-new', 'RS256');
    published = [rotated];
    fetches = 0;
    expect((await subject.verify(await sign(rotated, { sub: 'b' }))).kind).toBe('user');
    expect(fetches).toBe(1);
  });

  it('refetches for unknown key ids at most once per cooldown (forged kids fetch nothing)', async () => {
    const known = await signingKey('known-2', 'RS256');
    published = [known];
    const subject = verifier(60_000);
    await subject.verify(await sign(known, { sub: 'a' }));
    fetches = 0;
    const forged = await Promise.all(['f1', 'f2', 'f3'].map((kid) => signingKey(kid, 'RS256')));
    for (const key of forged) {
      await expect(subject.verify(await sign(key, { sub: 'x' }))).rejects.toBeInstanceOf(InvalidTokenError);
    }
    expect(fetches).toBe(0);
  });

  it('refuses a token of a key the issuer does not publish, an expired one and an HS256 one', async () => {
    const known = await signingKey('known', 'ES256');
    const stranger = await signingKey('stranger', 'ES256');
    published = [known];
    const subject = verifier();
    await expect(subject.verify(await sign(stranger, { sub: 'x' }))).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(subject.verify(await sign(known, { sub: 'x' }, -60))).rejects.toThrow('the token has expired');
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-secret-of-at-least-thirty-two-bytes'));
    await expect(subject.verify(hs)).rejects.toThrow('the token algorithm is not accepted');
  });

  it('accepts a token expired within the clock tolerance only', async () => {
    const key = await signingKey('skew', 'ES256');
    published = [key];
    const subject = verifier();
    expect((await subject.verify(await sign(key, { sub: 'x' }, -2))).kind).toBe('user');
    await expect(subject.verify(await sign(key, { sub: 'x' }, -30))).rejects.toThrow('expired');
  });

  it('refuses roles that are not an array of strings', async () => {
    const key = await signingKey('roles', 'RS256');
    published = [key];
    const token = await new SignJWT({ roles: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'roles' })
      .setSubject('x')
      .setIssuer('https://id.test')
      .setAudience('api')
      .setExpirationTime('5m')
      .sign(key.privateKey);
    await expect(verifier().verify(token)).rejects.toThrow('"roles" claim must be an array of strings');
  });
});
