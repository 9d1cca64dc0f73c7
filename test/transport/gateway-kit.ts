/**
 * A gateway on its own for edge tests (transport, rate limits): real HTTP
 * on a free port, configured from environment variables through
 * loadConfig, with every subgraph URL pointing at a closed port (edge
 * behaviour needs no subgraph; `{ __typename }` is answered by the gateway).
 */
import { createServer } from 'node:net';
import { createGateway, type GatewayServer } from '../../gateway/server';
import { createGatewayAuth, type GatewayAuth } from '../../lib/auth/runtime';
import { loadConfig, type AppEnv } from '../../lib/config';
import type { TenantPrincipal } from '../../lib/context';
import { createLogger } from '../../lib/logger';
import { SUBGRAPH_NAMES, loadSupergraphSdl, type SubgraphName } from '../../schema';

export interface EdgeGateway {
  gw: GatewayServer;
  auth: GatewayAuth;
  /** e.g. http://127.0.0.1:1234 (https:// with TLS) */
  base: string;
  port: number;
  tokenFor(p: TenantPrincipal): Promise<string>;
  stop(): Promise<void>;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function startEdgeGateway(appEnv: AppEnv, env: Record<string, string> = {}): Promise<EdgeGateway> {
  const config = loadConfig({ APP_ENV: appEnv, LOG_LEVEL: 'silent', ...env });
  const dead = await closedPort();
  const urls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:${dead}/graphql`])) as Record<SubgraphName, string>;
  const auth = await createGatewayAuth(config, { ephemeral: true });
  const gw = await createGateway({
    appEnv,
    supergraphSdl: loadSupergraphSdl(),
    subgraphUrls: urls,
    subgraphTimeoutMs: 1000,
    logger: createLogger('test', 'silent'),
    auth,
    // Identity is not running: every principal counts as still active.
    credentials: { statusSource: async () => ({ active: true }) },
    transport: config.transport,
    rateLimits: config.rateLimits,
  });
  const port = await gw.listen(0);
  return {
    gw,
    auth,
    port,
    base: `${gw.protocol}://127.0.0.1:${port}`,
    tokenFor: async (p) => (await auth.issuer.issue(p)).token,
    stop: () => gw.stop(),
  };
}

/** POSTs JSON to the gateway's /graphql. */
export async function post(base: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}
