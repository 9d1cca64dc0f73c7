/**
 * The gateway's subgraph fetcher (gateway/subgraph-fetcher.ts): a POST
 * over one kept-alive connection, the response as RemoteGraphQLDataSource
 * reads it, and a timeout for the whole exchange.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SubgraphTimeoutError, createSubgraphFetcher } from '../../gateway/subgraph-fetcher';

let server: Server;
let url: string;
const connections: number[] = [];
const seen: Array<{ headers: Record<string, unknown>; body: string }> = [];

beforeAll(async () => {
  let n = 0;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 1000);
      const status = req.url === '/forbidden' ? 403 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'max-age=5' });
      res.end(JSON.stringify({ data: { echo: body } }));
    });
  });
  server.on('connection', () => connections.push(++n));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('subgraph fetcher', () => {
  it('POSTs the body with its headers and answers with status, headers and JSON', async () => {
    const fetcher = createSubgraphFetcher(`${url}/graphql`, { subgraph: 'test', timeoutMs: 2000 });
    const res = await fetcher(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: '{"query":"{a}"}' });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('max-age=5');
    expect(await res.json()).toEqual({ data: { echo: '{"query":"{a}"}' } });
    expect(seen.at(-1)!.headers).toMatchObject({ authorization: 'Bearer x', 'content-length': '15' });
  });

  it('reuses one connection for requests one after the other (keep-alive)', async () => {
    const fetcher = createSubgraphFetcher(`${url}/graphql`, { subgraph: 'test', timeoutMs: 2000 });
    const before = connections.length;
    for (let i = 0; i < 3; i++) await (await fetcher(`${url}/graphql`, { method: 'POST', headers: {}, body: '{}' })).text();
    expect(connections.length - before).toBe(1);
  });

  it('answers a non-2xx status as not ok, with its status text', async () => {
    const fetcher = createSubgraphFetcher(`${url}/forbidden`, { subgraph: 'test', timeoutMs: 2000 });
    const res = await fetcher(`${url}/forbidden`, { method: 'POST', body: '{}' });
    expect([res.ok, res.status, res.statusText]).toEqual([false, 403, 'Forbidden']);
  });

  it('fails with SubgraphTimeoutError when the answer takes longer than the timeout', async () => {
    const fetcher = createSubgraphFetcher(`${url}/slow`, { subgraph: 'slowpoke', timeoutMs: 100 });
    await expect(fetcher(`${url}/slow`, { method: 'POST', body: '{}' })).rejects.toThrow(SubgraphTimeoutError);
  });
});
