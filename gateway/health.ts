/**
 * /healthz answers while the process is alive; /readyz only when every
 * subgraph answers its own /readyz (which checks its database).
 */
import type { RouteHandler } from '../lib/http';
import { sendJson } from '../lib/http';

export function healthRoute(): RouteHandler {
  return (_req, res) => sendJson(res, 200, { status: 'ok', service: 'gateway' });
}

export function readinessRoute(subgraphUrls: Record<string, string>, timeoutMs = 2000): RouteHandler {
  return async (_req, res) => {
    const checks = await Promise.all(
      Object.entries(subgraphUrls).map(async ([name, url]) => {
        try {
          const r = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(timeoutMs) });
          return [name, r.ok ? 'ready' : 'unavailable'] as const;
        } catch {
          return [name, 'unreachable'] as const;
        }
      }),
    );
    const subgraphs = Object.fromEntries(checks);
    const ready = checks.every(([, s]) => s === 'ready');
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', subgraphs });
  };
}
