/**
 * Bench internals: one autocannon run against one target, with the CPU
 * time of the target gateway, of the subgraphs it calls and of the
 * database, and the database commands, counted around it.
 */
import autocannon from 'autocannon';
import { loadavg } from 'node:os';
import type { ChildHandle } from './child';
import type { BenchOperation } from './scenario';

export interface LoadOptions {
  url: string;
  operations: BenchOperation[];
  /** One access token per connection (connection i uses tokens[i % length]). */
  tokens: string[];
  connections: number;
  /** Seconds. */
  duration: number;
}

export interface Measurement {
  /** Completed responses per second. */
  rps: number;
  /** Completed responses. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Mean latency (autocannon's percentiles are whole milliseconds; the mean is not). */
  meanMs: number;
  /** Socket errors + timeouts + non-2xx responses + responses carrying GraphQL `errors`. */
  errors: number;
  errorDetail: { socket: number; timeouts: number; non2xx: number; graphqlErrors: number };
  /** The target gateway process's CPU (user + system) per completed response. */
  gatewayCpuMsPerReq: number;
  /** The CPU of the four subgraph processes the target calls, per completed response. */
  subgraphsCpuMsPerReq: number;
  /** The database process's CPU (devdb) per completed response. */
  databaseCpuMsPerReq: number;
  /** Database commands on collections (find, aggregate, insert …) per completed response. */
  dbQueriesPerReq: number;
  /** Database commands by kind during the run. */
  dbCommands: Record<string, number>;
  /** 1-minute load average before and after. */
  load: [number, number];
}

interface DevDbStats {
  commands: Record<string, number>;
  byCollection: Record<string, number>;
}

const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + (b.system - a.system)) / 1000;

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return out;
}

/** The autocannon requests of one connection: its token, and a counter for per-request variables. */
function requestsFor(operations: BenchOperation[], token: string, connection: number, counts: { graphqlErrors: number }): autocannon.Request[] {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  // A 2xx carrying GraphQL errors is an error here (non-2xx ones autocannon counts itself).
  const onResponse = (status: number, body: string) => {
    if (status < 300 && body.includes('"errors"')) counts.graphqlErrors++;
  };
  return operations.map((op) => {
    const vars = op.variables;
    if (typeof vars !== 'function') return { method: 'POST', headers, body: JSON.stringify({ query: op.query, variables: vars ?? {} }), onResponse };
    let n = 0;
    return {
      method: 'POST',
      headers,
      onResponse,
      setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ query: op.query, variables: vars(n++, connection) }) }),
    };
  });
}

/** Runs autocannon once (no probes): the warm-up. */
export async function warmUp(opts: LoadOptions): Promise<void> {
  await fire(opts);
}

async function fire(opts: LoadOptions): Promise<{ result: autocannon.Result; graphqlErrors: number }> {
  let connection = 0;
  const counts = { graphqlErrors: 0 };
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    method: 'POST',
    // Replaced per connection in setupClient.
    requests: requestsFor(opts.operations, opts.tokens[0], 0, counts),
    setupClient: (client) => {
      const c = connection++;
      client.setRequests(requestsFor(opts.operations, opts.tokens[c % opts.tokens.length], c, counts));
    },
  });
  return { result, graphqlErrors: counts.graphqlErrors };
}

export async function measure(opts: LoadOptions, gateway: ChildHandle<unknown>, subgraphs: ChildHandle<unknown>[], database: ChildHandle<unknown>): Promise<Measurement> {
  const load0 = loadavg()[0];
  const probeAll = () => Promise.all([gateway.probe(), database.probe(), Promise.all(subgraphs.map((s) => s.probe()))]);
  const [g0, b0, s0] = await probeAll();
  const { result, graphqlErrors } = await fire(opts);
  const [g1, b1, s1] = await probeAll();
  const load1 = loadavg()[0];
  const requests = result.requests.total;
  const per = (x: number) => (requests > 0 ? x / requests : 0);
  const db = diff((b0.extra as DevDbStats).byCollection, (b1.extra as DevDbStats).byCollection);
  const dbTotal = Object.values(db).reduce((s, v) => s + v, 0);
  const errorDetail = { socket: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, graphqlErrors };
  return {
    rps: requests / result.duration,
    requests,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.mean,
    errors: errorDetail.socket + errorDetail.timeouts + errorDetail.non2xx + errorDetail.graphqlErrors,
    errorDetail,
    gatewayCpuMsPerReq: per(cpuMs(g0.cpu, g1.cpu)),
    subgraphsCpuMsPerReq: per(s0.reduce((sum, p, i) => sum + cpuMs(p.cpu, s1[i].cpu), 0)),
    databaseCpuMsPerReq: per(cpuMs(b0.cpu, b1.cpu)),
    dbQueriesPerReq: per(dbTotal),
    dbCommands: diff((b0.extra as DevDbStats).commands, (b1.extra as DevDbStats).commands),
    load: [load0, load1],
  };
}
