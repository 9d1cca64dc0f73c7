/**
 * Test kit of the credential flows, on top of the stack kit: a clock the
 * test moves by hand (credential checks and the status cache read it), the
 * token endpoint, login and SCIM over real HTTP, calls to a subgraph's
 * internal routes as the gateway would make them, the demo credentials,
 * and the platform's audit records and identity models.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { generate } from 'otplib';
import { createInternalTokenSigner } from '../../lib/auth/internal-token';
import type { AuditEvent } from '../../lib/audit';
import type { Principal } from '../../lib/context';
import { demoPassword, demoTotpSecret } from '../../lib/demo-credentials';
import type { SubgraphName } from '../../schema';
import { createModels, type IdentityModels } from '../../subgraphs/identity/model';
import { plan, type Stack } from './stack';

/** A clock that moves only when told. */
export interface ManualClock {
  (): Date;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** Epoch seconds. */
  seconds(): number;
}

export function manualClock(start = Date.now()): ManualClock {
  let t = start;
  const clock = (() => new Date(t)) as ManualClock;
  clock.advance = (ms) => {
    t += ms;
  };
  clock.seconds = () => Math.floor(t / 1000);
  return clock;
}

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

async function answer<T>(res: Response): Promise<HttpAnswer<T>> {
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** The gateway's origin, e.g. `http://127.0.0.1:51234`. */
export const gatewayBase = (stack: Stack): string => stack.platform.gatewayUrl.replace(/\/graphql$/, '');

/** The `aud` device assertions must carry: the token endpoint URL under the platform's issuer. */
export const tokenEndpointAudience = (stack: Stack): string => `${stack.platform.auth.issuer.issuer}/oauth/token`;

/** POSTs a token request as a form (or JSON with `json: true`), with optional HTTP Basic client credentials. */
export async function requestToken(stack: Stack, params: Record<string, string>, opts: { basic?: [string, string]; json?: boolean } = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded' };
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(opts.basic[0])}:${encodeURIComponent(opts.basic[1])}`).toString('base64')}`;
  const body = opts.json ? JSON.stringify(params) : new URLSearchParams(params).toString();
  return answer(await fetch(`${gatewayBase(stack)}/oauth/token`, { method: 'POST', headers, body }));
}

/** POST /auth/login. */
export async function login(stack: Stack, body: Record<string, unknown>): Promise<HttpAnswer> {
  return answer(await fetch(`${gatewayBase(stack)}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
}

/** The current TOTP code of demo user `userId` at `clock`. */
export const demoTotp = (userId: string, clock: ManualClock): Promise<string> => generate({ secret: demoTotpSecret(userId), epoch: clock.seconds() });

/** Login body of a demo user (by email) with a fresh TOTP code. */
export async function demoLogin(email: string, clock: ManualClock): Promise<{ email: string; password: string; totp: string }> {
  const user = plan.users.find((u) => u.email === email)!;
  return { email, password: demoPassword(user.id), totp: await demoTotp(user.id, clock) };
}

/** A SCIM request through the gateway with `token` as the SCIM bearer. */
export async function scim(stack: Stack, method: string, path: string, token: string | undefined, body?: unknown): Promise<HttpAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/scim+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return answer(await fetch(`${gatewayBase(stack)}/scim/v2${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

/** A request to a subgraph's internal route with an internal token for `principal` (default: the gateway itself). */
export async function internalCall(stack: Stack, subgraph: SubgraphName, path: string, init: { method?: string; body?: unknown; principal?: Principal | null } = {}): Promise<HttpAnswer> {
  const principal = init.principal === undefined ? { kind: 'system' as const, id: 'gateway' } : init.principal;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (principal) headers.authorization = `Bearer ${await createInternalTokenSigner(stack.platform.auth.internalKeys).tokenFor(principal, subgraph)}`;
  const url = new URL(path, stack.platform.subgraphUrls[subgraph]);
  return answer(await fetch(url, { method: init.method ?? 'POST', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) }));
}

/** A GraphQL request to the gateway with a raw bearer token. */
export async function gqlWithToken(stack: Stack, token: string, query: string, variables?: Record<string, unknown>): Promise<HttpAnswer> {
  return answer(await fetch(stack.platform.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) }));
}

/** The claims of an access token (already verified by whoever issued it). */
export const claimsOf = (token: string): JWTPayload & Record<string, any> => decodeJwt(token);

/** Identity's models on the stack's database. */
export const identityModels = (stack: Stack): IdentityModels => createModels(stack.platform.stores.forRegion());

/** Audit records written so far (the platform's Mongo audit sink), oldest first. */
export async function auditEvents(stack: Stack, typePrefix = ''): Promise<AuditEvent[]> {
  const docs = await stack.platform.stores.forRegion().db!.collection('audit_events').find({}).sort({ at: 1 }).toArray();
  return (docs as unknown as AuditEvent[]).filter((e) => e.type.startsWith(typePrefix));
}
