/**
 * Identity's internal HTTP routes, for the gateway only (a system principal
 * in the internal token, see lib/internal-route.ts): credential checks for
 * the token endpoint and the development login, the per-request principal
 * status, client secret rotation and SCIM token issuance for operators,
 * the failure counters; plus SCIM (scim/routes.ts). Answers are JSON; a
 * refused credential is a 4xx with an OAuth-style `error`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditSink } from '../../../lib/audit';
import type { CredentialSettings } from '../../../lib/auth/credential-settings';
import { createLockout } from '../../../lib/auth/lockout';
import type { AppEnv } from '../../../lib/config';
import type { Principal } from '../../../lib/context';
import { HttpError, sendJson, type RouteHandler } from '../../../lib/http';
import { readJson, stringField, systemRoute } from '../../../lib/internal-route';
import type { IdentityModels } from '../model';
import { scimRoute } from '../scim/routes';
import { ScimService } from '../scim/service';
import { ClientCredentials } from './clients';
import { Login } from './login';
import { createCredentialMetrics, type CredentialMetrics } from './metrics';
import { principalStatus } from './status';

export interface IdentityRouteDeps {
  models: IdentityModels;
  audit: AuditSink;
  appEnv: AppEnv;
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  settings?: CredentialSettings;
}

export interface IdentityCredentials {
  routes: Record<string, RouteHandler>;
  clients: ClientCredentials;
  scim: ScimService;
  metrics: CredentialMetrics;
}

const required = (body: Record<string, unknown>, name: string, max?: number): string => {
  const value = stringField(body, name, max);
  if (value === undefined) throw new HttpError(400, 'BAD_REQUEST', `${name} is required`);
  return value;
};

const requestIdOf = (req: IncomingMessage): string | undefined => (typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined);

/** `/internal/<collection>/<id>/<action>` → id, when the path has exactly that shape. */
function idFrom(req: IncomingMessage, collection: string, action: string): string {
  const match = new RegExp(`^/internal/${collection}/([A-Za-z0-9_-]{1,64})/${action}$`).exec(new URL(req.url ?? '/', 'http://identity').pathname);
  if (!match) throw new HttpError(404, 'NOT_FOUND', 'no such route');
  return match[1];
}

export function createIdentityCredentials(deps: IdentityRouteDeps): IdentityCredentials {
  const settings = deps.settings ?? {};
  const now = settings.now ?? (() => new Date());
  const metrics = createCredentialMetrics();
  const lockout = createLockout(settings.lockout);
  const ipLockout = createLockout({ maxFailures: 20, ...settings.ipLockout });
  const common = { models: deps.models, audit: deps.audit, now, lockout, ipLockout, metrics };
  const clients = new ClientCredentials({ ...common, overlapSeconds: settings.secretOverlapSeconds ?? 86_400 });
  const login = new Login(common);
  const scim = new ScimService(deps.models, deps.audit, now);
  const system = (handler: (req: IncomingMessage, res: ServerResponse, actor: string) => Promise<void>, methods?: string[]) =>
    systemRoute(deps.resolvePrincipal, (req, res, caller) => handler(req, res, `system:${caller.id}`), methods);

  const routes: Record<string, RouteHandler> = {
    '/internal/oauth/client-credentials': system(async (req, res) => {
      const body = await readJson(req);
      const result = await clients.grant({
        clientId: required(body, 'clientId', 256),
        clientSecret: required(body, 'clientSecret', 512),
        scope: stringField(body, 'scope', 1024),
        ip: required(body, 'ip', 64),
        requestId: requestIdOf(req),
      });
      if (result.ok) sendJson(res, 200, { principal: result.principal, maxTtlSeconds: Number.isFinite(result.maxTtlSeconds) ? result.maxTtlSeconds : null });
      else sendJson(res, result.retryAfter ? 429 : result.error === 'invalid_client' ? 401 : 400, { error: result.error, ...(result.retryAfter ? { retryAfter: result.retryAfter } : {}) });
    }),
    '/internal/principal-status': system(async (req, res) => {
      const body = await readJson(req);
      const subjectType = required(body, 'subjectType', 16);
      if (subjectType !== 'user' && subjectType !== 'client' && subjectType !== 'device') throw new HttpError(400, 'BAD_REQUEST', 'unknown subjectType');
      const status = await principalStatus(deps.models, { id: required(body, 'id', 512), tenantId: required(body, 'tenantId', 128), subjectType, externalSubject: stringField(body, 'externalSubject', 512) }, now());
      sendJson(res, 200, status);
    }),
    '/internal/clients/*': system(async (req, res, actor) => {
      const rotated = await clients.rotate(actor, idFrom(req, 'clients', 'rotate-secret'), requestIdOf(req));
      if (!rotated) throw new HttpError(404, 'NOT_FOUND', 'no such client');
      sendJson(res, 200, { clientSecret: rotated.clientSecret, previousValidUntil: rotated.previousValidUntil.toISOString() }, { 'cache-control': 'no-store' });
    }),
    '/internal/tenants/*': system(async (req, res, actor) => {
      const token = await scim.issueToken(actor, idFrom(req, 'tenants', 'scim-token'), requestIdOf(req));
      if (!token) throw new HttpError(404, 'NOT_FOUND', 'no such tenant');
      sendJson(res, 200, { scimToken: token }, { 'cache-control': 'no-store' });
    }),
    '/internal/metrics': system(async (_req, res) => sendJson(res, 200, { credentials: metrics.snapshot() }), ['GET']),
    '/scim/v2/Users/*': scimRoute(scim, deps.resolvePrincipal),
  };
  // Development login only: in staging and production the route does not exist here either.
  if (deps.appEnv === 'development') {
    routes['/internal/login'] = system(async (req, res) => {
      const body = await readJson(req);
      const result = await login.login({
        email: required(body, 'email', 254),
        password: required(body, 'password', 1024),
        totp: required(body, 'totp', 16),
        tenantId: stringField(body, 'tenantId', 64),
        ip: required(body, 'ip', 64),
        requestId: requestIdOf(req),
      });
      if (result.ok) sendJson(res, 200, { principal: result.principal });
      else if (result.error === 'locked_out') sendJson(res, 429, { error: result.error, retryAfter: result.retryAfter });
      else sendJson(res, 401, { error: result.error });
    });
  }
  return { routes, clients, scim, metrics };
}
