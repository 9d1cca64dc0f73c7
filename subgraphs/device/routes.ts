/**
 * The device subgraph's internal routes for the gateway: its token
 * endpoint's `POST /internal/device-assertion { assertion, audience }` → 200
 * `{ deviceId, tenantId }` or 400 `{ error: 'invalid_grant' }`, and the
 * per-request `POST /internal/device-status { id, tenantId }` → 200
 * `{ active, reason? }` (status.ts). Only the gateway (a system principal in
 * the internal token) may call them.
 */
import type { IncomingMessage } from 'node:http';
import type { AuditSink } from '../../lib/audit';
import type { Principal } from '../../lib/context';
import { HttpError, sendJson, type RouteHandler } from '../../lib/http';
import { readJson, stringField, systemRoute } from '../../lib/internal-route';
import { verifyDeviceAssertion } from './assertion';
import { deviceStatus } from './status';
import type { DeviceModels } from './model';

export interface DeviceRouteDeps {
  models: DeviceModels;
  audit: AuditSink;
  now: () => Date;
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
}

export function deviceRoutes(deps: DeviceRouteDeps): Record<string, RouteHandler> {
  return {
    '/internal/device-assertion': systemRoute(deps.resolvePrincipal, async (req, res) => {
      const body = await readJson(req);
      const assertion = stringField(body, 'assertion', 4096);
      const audience = stringField(body, 'audience', 512);
      if (!assertion || !audience) throw new HttpError(400, 'BAD_REQUEST', 'assertion and audience are required');
      const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
      const result = await verifyDeviceAssertion(deps, assertion, audience, requestId);
      if (result.ok) sendJson(res, 200, { deviceId: result.deviceId, tenantId: result.tenantId });
      else sendJson(res, 400, { error: 'invalid_grant' });
    }),
    '/internal/device-status': systemRoute(deps.resolvePrincipal, async (req, res) => {
      const body = await readJson(req);
      const id = stringField(body, 'id', 128);
      const tenantId = stringField(body, 'tenantId', 128);
      if (!id || !tenantId) throw new HttpError(400, 'BAD_REQUEST', 'id and tenantId are required');
      sendJson(res, 200, await deviceStatus(deps.models, { id, tenantId }));
    }),
  };
}
