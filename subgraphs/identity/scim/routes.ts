/**
 * `/scim/v2/Users…` on the identity subgraph, reached through the gateway's
 * SCIM proxy. Two credentials, both required: the gateway's internal token
 * (`authorization`, a system principal: the proxy is the only way in, and
 * it is where the gateway forgets cached status of changed users) and the
 * tenant's SCIM bearer token, forwarded in `x-scim-authorization`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../../../lib/context';
import { HttpError, readBody, type RouteHandler } from '../../../lib/http';
import { ScimError, scimNotFound, scimUnauthorized, sendScim, sendScimError } from './errors';
import { parseUserNameFilter } from './filter';
import { LIST_SCHEMA, parseNewUser, parsePatch, toScimUser } from './resource';
import type { ScimService } from './service';

const PREFIX = '/scim/v2/Users';
const MAX_BODY = 64 * 1024;
const MAX_COUNT = 200;

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw: string;
  try {
    raw = await readBody(req, MAX_BODY);
  } catch (err) {
    if (err instanceof HttpError) throw new ScimError(err.status, 'Request body too large');
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ScimError(400, 'The body must be a JSON object', 'invalidSyntax');
}

function positiveInt(raw: string | null, fallback: number, min: number, max: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) ? Math.min(Math.max(n, min), max) : fallback;
}

export function scimRoute(service: ScimService, resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>): RouteHandler {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let caller: Principal;
    try {
      caller = await resolvePrincipal(req);
    } catch {
      throw scimUnauthorized();
    }
    if (caller.kind !== 'system') throw scimUnauthorized();
    const bearer = /^Bearer (\S{1,200})$/i.exec(String(req.headers['x-scim-authorization'] ?? ''));
    const tenantId = bearer ? await service.tenantForToken(bearer[1]) : undefined;
    if (!tenantId) throw scimUnauthorized();

    const url = new URL(req.url ?? '/', 'http://identity');
    const rest = url.pathname.slice(PREFIX.length);
    // Ids are 24-hex: anything else under the collection (`/Users/x/y`, `/Users/%zz`) names nothing.
    const id = rest.startsWith('/') ? rest.slice(1) : undefined;
    if ((rest && id === undefined) || (id !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(id))) throw scimNotFound();
    const forwardedBase = req.headers['x-scim-base-url'];
    const baseUrl = typeof forwardedBase === 'string' && /^https?:\/\/\S+$/.test(forwardedBase) ? forwardedBase : `http://${req.headers.host ?? 'localhost'}/scim/v2`;
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;

    if (id === undefined && req.method === 'GET') {
      const userName = parseUserNameFilter(url.searchParams.get('filter'));
      const startIndex = positiveInt(url.searchParams.get('startIndex'), 1, 1, Number.MAX_SAFE_INTEGER);
      const count = positiveInt(url.searchParams.get('count'), 100, 0, MAX_COUNT);
      const { total, users } = await service.list(tenantId, userName, startIndex, count);
      sendScim(res, 200, { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: users.length, Resources: users.map((u) => toScimUser(u, baseUrl)) });
      return;
    }
    if (id === undefined && req.method === 'POST') {
      const user = await service.create(tenantId, parseNewUser(await jsonBody(req)), requestId);
      const body = toScimUser(user, baseUrl);
      sendScim(res, 201, body, { location: `${baseUrl}/Users/${user._id}` });
      return;
    }
    if (id !== undefined && req.method === 'GET') return sendScim(res, 200, toScimUser(await service.get(tenantId, id), baseUrl));
    if (id !== undefined && req.method === 'PATCH') return sendScim(res, 200, toScimUser(await service.patch(tenantId, id, parsePatch(await jsonBody(req)), requestId), baseUrl));
    if (id !== undefined && req.method === 'DELETE') {
      await service.remove(tenantId, id, requestId);
      return sendScim(res, 204);
    }
    throw new ScimError(405, 'Method not supported on this resource');
  };
  return async (req, res) => {
    try {
      await handle(req, res);
    } catch (err) {
      if (err instanceof ScimError) return sendScimError(res, err);
      throw err;
    }
  };
}
