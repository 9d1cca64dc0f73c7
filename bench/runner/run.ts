/**
 * The bench runner: starts the database (devdb), each subgraph (secured
 * and open) and each target gateway in a child process of its own
 * (`startWorld`), then per scenario (`runScenario`) mints the caller's
 * tokens, checks one response per operation and target, warms each target
 * up, and measures the targets round after round in rotated order
 * (A B C, B C A, …) so machine drift spreads evenly over them.
 * `runBench` does both and writes bench/results/<scenario>-<date>[-<label>].{json,md}.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createTokenIssuer } from '../../lib/auth/access-token';
import { scopesForRoles } from '../../lib/auth/scopes';
import type { TenantPrincipal } from '../../lib/context';
import { demoPlan, type DemoPlan } from '../../lib/demo';
import { spawnChild, type ChildHandle } from './child';
import { measure, warmUp } from './load';
import { type BenchResult, markdown, ratios, summarise } from './report';
import { DEFAULTS, type Scenario } from './scenario';
import { DEFAULT_TARGETS, TARGETS, type SubgraphSet, type TargetName, hiveInstalled } from './targets';
import { BENCH_ISSUER, SHIPMENTS_PER_TENANT, createBenchKeys, internalJwks, openPlatformKeys } from './world';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../schema';
import type { TargetStart } from '../targets/types';

export interface MeasureOptions {
  rounds?: number;
  duration?: number;
  connections?: number;
  warmup?: number;
  /**
   * Write a V8 CPU profile of the measured rounds of these targets, of the
   * database, or of a subgraph ("shipment:secured") (bench/results/profiles/).
   */
  profile?: string[];
  /** Where results and profiles go. @default bench/results */
  outDir?: string;
  /** Appended to the result file names. */
  label?: string;
  /** Write the JSON and Markdown files. @default true */
  write?: boolean;
}

export interface RunOptions extends MeasureOptions {
  /** A scenario name (bench/scenarios/<name>.ts) or the scenario itself. */
  scenario: string | Scenario;
  /** @default the scenario's targets, else all; Hive targets are skipped when bench/peers/hive is not installed */
  targets?: TargetName[];
  /** Progress lines. @default stderr */
  log?: (line: string) => void;
}

export interface RunOutput {
  result: BenchResult;
  markdown: string;
  files: string[];
}

/** The running processes: the database, the subgraphs (per set) and one gateway per target. */
export interface World {
  targets: TargetName[];
  skipped: BenchResult['skipped'];
  database: ChildHandle<{ mongoUri: string }>;
  subgraphs: Partial<Record<SubgraphSet, Record<SubgraphName, ChildHandle<{ url: string }>>>>;
  gateways: Map<TargetName, ChildHandle<{ url: string }>>;
  /** The scratch folder (keys, child logs). */
  dir: string;
  log: (line: string) => void;
  /** Stops every child; removes the scratch folder unless `keepLogs`. */
  stop(keepLogs?: boolean): Promise<void>;
}

const RESULTS_DIR = path.join(__dirname, '../results');

export async function loadScenario(name: string): Promise<Scenario> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`not a scenario name: ${name}`);
  const mod = (await import(`../scenarios/${name}`)) as { default?: Scenario };
  if (!mod.default) throw new Error(`bench/scenarios/${name}.ts has no default export`);
  return mod.default;
}

/** A demo user as a token would describe them, MFA done at start (as the test kit's `userOf`). */
function callerOf(plan: DemoPlan, caller: Scenario['caller']): TenantPrincipal {
  const tenant = plan.tenants[caller.tenant];
  const u = plan.users.find((x) => x.tenantId === tenant.id && x.roles.includes(caller.role));
  if (!u) throw new Error(`no demo user with ${caller.role} in ${tenant.name}`);
  return {
    kind: 'user',
    id: u.id,
    tenantId: tenant.id,
    region: tenant.homeRegion,
    roles: u.roles,
    scopes: scopesForRoles(u.roles),
    subjectType: 'user',
    amr: ['pwd', 'otp', 'mfa'],
    authTime: Math.floor(Date.now() / 1000),
  };
}

const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]);

/**
 * Starts the database, then the subgraphs the targets need (in parallel),
 * then every target (in parallel); Hive targets are skipped when Hive is
 * not installed.
 */
export async function startWorld(wanted: readonly TargetName[], log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<World> {
  const skipped: BenchResult['skipped'] = [];
  const targets = wanted.filter((t) => {
    if (TARGETS[t].module === 'hive' && !hiveInstalled()) {
      skipped.push({ name: t, reason: 'bench/peers/hive has no node_modules (run `npm install` there)' });
      return false;
    }
    return true;
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'tracksafe-bench-'));
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir);
  const children: ChildHandle<unknown>[] = [];
  const stop = async (keepLogs = false) => {
    // Gateways first, then the backend they call.
    for (const c of children.slice().reverse()) await c.stop().catch(() => undefined);
    if (keepLogs) log(`child logs kept in ${logDir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    const base = { ...process.env, BENCH_DIR: dir, NODE_ENV: 'production', APP_ENV: 'staging' };
    // Keys first: the database seeds the secured copy with the master key.
    await createBenchKeys(dir);
    const database = await spawnChild<{ mongoUri: string }>({ name: 'database', entry: path.join(__dirname, 'database.ts'), env: base, logFile: path.join(logDir, 'database.log') });
    children.push(database);
    log(`database ready (devdb ${database.info.mongoUri}, seeded)`);
    const jwks = JSON.stringify(await internalJwks(dir));
    const sets = [...new Set(targets.map((t) => TARGETS[t].subgraphs))];
    const subgraphs: World['subgraphs'] = {};
    await Promise.all(
      sets.flatMap((set) =>
        SUBGRAPH_NAMES.map(async (name) => {
          const child = await spawnChild<{ url: string }>({
            name: `${name}:${set}`,
            entry: path.join(__dirname, 'subgraph.ts'),
            // The plaintext set runs with production settings (benchConfig) but a staging process environment:
            // the product refuses encryption off where APP_ENV=production.
            env: { ...base, APP_ENV: set === 'secured' ? 'production' : 'staging', BENCH_SUBGRAPH: `${name}:${set}`, BENCH_MONGO_URI: database.info.mongoUri, BENCH_INTERNAL_JWKS: jwks },
            logFile: path.join(logDir, `${name}-${set}.log`),
          });
          children.push(child);
          (subgraphs[set] ??= {} as Record<SubgraphName, ChildHandle<{ url: string }>>)[name] = child;
        }),
      ),
    );
    log(`subgraphs ready: ${sets.join(', ')}`);
    const gateways = new Map<TargetName, ChildHandle<{ url: string }>>();
    await Promise.all(
      targets.map(async (t) => {
        const def = TARGETS[t];
        const set = subgraphs[def.subgraphs]!;
        const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, set[n].info.url])) as Record<SubgraphName, string>;
        const start: TargetStart = { module: def.module, variant: def.variant, subgraphUrls, dir };
        const child = await spawnChild<{ url: string }>({
          name: t,
          entry: path.join(__dirname, 'gateway.ts'),
          env: { ...base, APP_ENV: def.subgraphs === 'open' ? 'staging' : 'production', BENCH_TARGET: JSON.stringify(start) },
          logFile: path.join(logDir, `${t}.log`),
        });
        children.push(child);
        gateways.set(t, child);
        log(`${t} ready at ${child.info.url}`);
      }),
    );
    return { targets, skipped, database, subgraphs, gateways, dir, log, stop };
  } catch (err) {
    await stop(true);
    throw err;
  }
}

/** Checks, warms up and measures `scenario` on every target of `world`; writes the results unless told not to. */
export async function runScenario(world: World, scenario: Scenario, opts: MeasureOptions = {}): Promise<RunOutput> {
  const { targets, gateways, database, log } = world;
  const p = { ...DEFAULTS, ...scenario.defaults };
  const rounds = opts.rounds ?? p.rounds;
  const duration = opts.duration ?? p.duration;
  const connections = opts.connections ?? p.connections;
  const warmup = opts.warmup ?? p.warmup;
  const outDir = opts.outDir ?? RESULTS_DIR;
  const stem = `${scenario.name}-${new Date().toISOString().slice(0, 10)}${opts.label ? `-${opts.label}` : ''}`;
  const profileDir = path.join(outDir, 'profiles', stem);
  const loadAtStart = loadavg();
  log(`bench ${scenario.name}: ${targets.join(', ')}; ${rounds} rounds × ${duration} s, ${connections} connections; load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`);

  const plan = demoPlan(SHIPMENTS_PER_TENANT);
  const issuer = createTokenIssuer({ issuer: BENCH_ISSUER, keys: await openPlatformKeys(world.dir) });
  const principal = callerOf(plan, scenario.caller);
  // One token per connection, as that many clients would hold; they live 15 minutes (runs are shorter).
  const tokens = await Promise.all(Array.from({ length: Math.max(1, connections) }, async () => (await issuer.issue(principal)).token));
  const operations = scenario.operations(plan);

  // One request per operation and target before measuring: the right answer, no errors, and its size.
  const responseBytes = new Map<TargetName, number[]>();
  for (const t of targets) {
    const sizes: number[] = [];
    for (const op of operations) {
      const variables = typeof op.variables === 'function' ? op.variables(0, 0) : (op.variables ?? {});
      const res = await fetch(gateways.get(t)!.info.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
        body: JSON.stringify({ query: op.query, variables }),
      });
      const text = await res.text();
      let body: { data?: unknown; errors?: unknown[] };
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`${t} ${op.name}: ${res.status} non-JSON answer: ${text.slice(0, 200)}`);
      }
      const problem =
        res.status !== 200 ? `HTTP ${res.status}: ${text.slice(0, 300)}` : scenario.check ? scenario.check(op.name, body) : body.errors?.length ? JSON.stringify(body.errors).slice(0, 300) : undefined;
      if (problem) throw new Error(`${t} ${op.name}: ${problem}`);
      sizes.push(Buffer.byteLength(text));
    }
    responseBytes.set(t, sizes);
  }
  log(`checked: ${targets.map((t) => `${t} ${responseBytes.get(t)!.join('+')} B`).join(', ')}`);

  const load = (t: TargetName, seconds: number) => ({ url: gateways.get(t)!.info.url, operations, tokens, connections, duration: seconds });
  if (warmup > 0) for (const t of targets) await warmUp(load(t, warmup));

  // Profiles cover the measured rounds only.
  const profiled: Array<[string, ChildHandle<unknown>]> = [];
  for (const name of opts.profile ?? []) {
    const [sg, set] = name.split(':') as [SubgraphName, SubgraphSet];
    const child = name === 'database' ? database : set ? world.subgraphs[set]?.[sg] : gateways.get(name as TargetName);
    if (!child) throw new Error(`nothing to profile called ${name} (a target, "database" or "<subgraph>:secured|plaintext|open")`);
    profiled.push([name.replace(':', '-'), child]);
  }
  if (profiled.length) mkdirSync(profileDir, { recursive: true });
  for (const [, c] of profiled) await c.startProfile();

  const results: BenchResult['rounds'] = [];
  for (let r = 0; r < rounds; r++) {
    const order = rotate(targets, r);
    const round: BenchResult['rounds'][number] = { round: r + 1, order, results: {} };
    for (const t of order) {
      const m = await measure(load(t, duration), gateways.get(t)!, Object.values(world.subgraphs[TARGETS[t].subgraphs]!), database);
      round.results[t] = m;
      log(
        `round ${r + 1} ${t.padEnd(18)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms  gw ${m.gatewayCpuMsPerReq.toFixed(2)} ms/req  db ${m.dbQueriesPerReq.toFixed(2)}/req  errors ${m.errors}  load ${m.load[0].toFixed(2)}`,
      );
    }
    results.push(round);
  }

  for (const [name, c] of profiled) {
    const file = path.join(profileDir, `${name}.cpuprofile`);
    await c.stopProfile(file);
    log(`profile: ${path.relative(process.cwd(), file)}`);
  }

  const result: BenchResult = {
    scenario: scenario.name,
    description: scenario.description,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}`, loadAtStart, loadAtEnd: loadavg() },
    parameters: { rounds, duration, connections, warmup, shipmentsPerTenant: SHIPMENTS_PER_TENANT },
    targets: targets.map((t) => ({ name: t, describe: TARGETS[t].describe })),
    skipped: world.skipped,
    rounds: results,
    summary: targets.map((t) => summarise(t, results, responseBytes.get(t) ?? [])),
    ratios: ratios(results),
  };
  const md = markdown(result);
  const files: string[] = [];
  if (opts.write !== false) {
    mkdirSync(outDir, { recursive: true });
    const json = path.join(outDir, `${stem}.json`);
    const mdFile = path.join(outDir, `${stem}.md`);
    writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(mdFile, md);
    files.push(json, mdFile);
  }
  return { result, markdown: md, files };
}

/** Starts what `opts.scenario` needs, runs it, stops everything. */
export async function runBench(opts: RunOptions): Promise<RunOutput> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const scenario = typeof opts.scenario === 'string' ? await loadScenario(opts.scenario) : opts.scenario;
  const world = await startWorld(opts.targets ?? scenario.targets ?? [...DEFAULT_TARGETS], log);
  let ok = false;
  try {
    const out = await runScenario(world, scenario, opts);
    ok = true;
    return out;
  } finally {
    await world.stop(!ok);
  }
}
