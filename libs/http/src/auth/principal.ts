/** Roles a token may carry in its `roles` claim (other values are kept, and mean nothing to this API). */
export const ROLES = { operator: 'operator', admin: 'admin' } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];

/**
 * Who sends a request. With AUTH_MODE=jwt, a verified token's subject (the customer id) and roles;
 * with AUTH_MODE=none, `anonymous`: nothing is checked (development only).
 */
export type Principal =
  { readonly kind: 'anonymous' } | { readonly kind: 'user'; readonly sub: string; readonly roles: readonly string[] };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

/** Whether the principal may act beyond its own data (no authentication configured, or the admin role). */
export const isUnrestricted = (principal: Principal): boolean =>
  principal.kind === 'anonymous' || principal.roles.includes(ROLES.admin);

export const hasAnyRole = (principal: Principal, roles: readonly Role[]): boolean =>
  isUnrestricted(principal) || (principal.kind === 'user' && roles.some((role) => principal.roles.includes(role)));

/**
 * The customer whose data alone this principal may see or change: its `sub`, or undefined when it may
 * act for every customer (admin, or AUTH_MODE=none).
 */
export const ownCustomerOf = (principal: Principal): string | undefined =>
  isUnrestricted(principal) || principal.kind !== 'user' ? undefined : principal.sub;
