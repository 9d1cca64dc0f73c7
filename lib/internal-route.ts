/**
 * Plain HTTP routes a subgraph serves to the gateway only (credential
 * checks, principal status): JSON in, JSON out, behind the same internal
 * token as /graphql. `systemRoute` admits only a system principal (the
 * gateway acting for itself), never a user's hop token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthError, AuthReason } from './auth/errors';
import type { Principal, SystemPrincipal } from './context';
import { HttpError, readBody, sendJson, type RouteHandler } from './http';

/** Largest JSON body an internal route accepts. */
const MAX_BODY = 16 * 1024;

/** The body as a JSON object; 400 BAD_REQUEST for anything else, 413 beyond `limit`. */
export async function readJson(req: IncomingMessage, limit = MAX_BODY): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  try {
    const parsed: unknown = JSON.parse(raw || '{}');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body must be a JSON object');
  }
}

/** A string field of a JSON body, or undefined when absent; 400 when present but not a short string. */
export function stringField(body: Record<string, unknown>, name: string, maxLength = 512): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) throw new HttpError(400, 'BAD_REQUEST', `${name} must be a string of at most ${maxLength} characters`);
  return value;
}

export type SystemRouteHandler = (req: IncomingMessage, res: ServerResponse, caller: SystemPrincipal) => void | Promise<void>;

/**
 * Wraps `handler` so it runs only for a verified system principal.
 * `resolvePrincipal` is the subgraph's own (it verifies the internal token):
 * rejecting answers 401 INTERNAL_TOKEN_REQUIRED, any other principal 403.
 * Only `methods` are allowed (405 otherwise).
 */
export function systemRoute(
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>,
  handler: SystemRouteHandler,
  methods: readonly string[] = ['POST'],
): RouteHandler {
  return async (req, res) => {
    const principal = await resolvePrincipal(req);
    if (principal.kind === 'anonymous') throw new AuthError(AuthReason.INTERNAL_TOKEN_REQUIRED);
    if (principal.kind !== 'system') {
      sendJson(res, 403, { errors: [{ message: 'Forbidden', extensions: { code: 'FORBIDDEN' } }] });
      return;
    }
    if (!methods.includes(req.method ?? '')) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${methods.join(' or ')}`);
    await handler(req, res, principal);
  };
}
