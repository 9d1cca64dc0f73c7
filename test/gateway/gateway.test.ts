/**
 * Gateway behaviour that needs its own servers: draining on shutdown and
 * error masking outside development.
 */
import { createServer } from 'node:net';
import { createGateway } from '../../gateway/server';
import { createGatewayAuth } from '../../lib/auth/runtime';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { SUBGRAPH_NAMES, loadSupergraphSdl, type SubgraphName } from '../../schema';
import { codes, postGraphQL, startStack, tenantA, userOf } from '../kit/stack';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('graceful shutdown', () => {
  test('a request in flight when stop() is called completes; new connections are refused', async () => {
    const stack = await startStack();
    try {
      const { gateway, gatewayUrl } = stack.platform;
      // Stop as soon as the gateway has accepted the request.
      const stopped = new Promise<void>((resolve) => gateway.server.once('request', () => resolve(gateway.stop())));
      const res = await stack.gql(`{ shipments(first: 25) { totalCount edges { node { id tenant { name } devices { id } } } } }`);
      await stopped;
      expect(res.status).toBe(200);
      expect(res.errors).toBeUndefined();
      expect(res.data!.shipments.edges).toHaveLength(25);
      await expect(fetch(gatewayUrl, { method: 'POST' })).rejects.toThrow();
    } finally {
      await Promise.all(Object.values(stack.platform.subgraphs).map((s) => s.stop()));
      await stack.platform.stores.close();
      await stack.platform.devdb?.stop();
    }
  }, 60_000);
});

describe('error masking', () => {
  /** `statusCheck: 'stub'` answers "active" in place of the dead identity subgraph, so requests reach the subgraph fetch. */
  async function gatewayWithDeadSubgraphs(appEnv: 'development' | 'production', statusCheck: 'stub' | 'real' = 'stub') {
    const port = await closedPort();
    const urls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:${port}/graphql`])) as Record<SubgraphName, string>;
    const auth = await createGatewayAuth(loadConfig({ APP_ENV: appEnv }), { ephemeral: true });
    const credentials = statusCheck === 'stub' ? { statusSource: async () => ({ active: true }) } : {};
    const gw = await createGateway({ appEnv, supergraphSdl: loadSupergraphSdl(), subgraphUrls: urls, logger: createLogger('test', 'silent'), subgraphTimeoutMs: 2000, auth, credentials });
    const gwPort = await gw.listen(0);
    const { token } = await auth.issuer.issue(userOf(tenantA.id));
    return { gw, url: `http://127.0.0.1:${gwPort}/graphql`, deadPort: port, headers: { authorization: `Bearer ${token}` } };
  }

  test('in production a failing subgraph shows only a generic error with the request id: no address, no stack', async () => {
    const { gw, url, deadPort, headers } = await gatewayWithDeadSubgraphs('production');
    try {
      const res = await postGraphQL(url, `{ shipments(first: 1) { totalCount } }`, undefined, { ...headers, 'x-request-id': 'masking-test-0001' });
      expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
      const text = JSON.stringify(res.errors);
      expect(text).not.toContain(String(deadPort));
      expect(text).not.toMatch(/ECONNREFUSED|stacktrace|at .*\.js/);
      expect(res.errors![0].message).toBe('Internal server error');
      expect(res.errors![0].extensions!.requestId).toBe('masking-test-0001');
    } finally {
      await gw.stop();
    }
  });

  test('when identity cannot say whether the caller is still active, the request is refused (503), revealing nothing', async () => {
    const { gw, url, deadPort, headers } = await gatewayWithDeadSubgraphs('production', 'real');
    try {
      const res = await postGraphQL(url, `{ shipments(first: 1) { totalCount } }`, undefined, headers);
      expect(res.status).toBe(503);
      expect(codes(res)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(JSON.stringify(res.errors)).not.toMatch(new RegExp(`${deadPort}|ECONNREFUSED|identity`));
    } finally {
      await gw.stop();
    }
  });

  test('in development the same failure keeps its detail for the developer', async () => {
    const { gw, url, headers } = await gatewayWithDeadSubgraphs('development');
    try {
      const res = await postGraphQL(url, `{ shipments(first: 1) { totalCount } }`, undefined, headers);
      expect(res.errors!.length).toBeGreaterThan(0);
      expect(res.errors![0].message).not.toBe('Internal server error');
    } finally {
      await gw.stop();
    }
  });
});
