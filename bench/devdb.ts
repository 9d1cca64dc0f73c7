/**
 * devdb throughput through mongoose, the way the platform uses it.
 *
 * For each storage mode (memory-only, and a dataDir with the fsync'd
 * journal) and each collection size (1k and 100k documents) it measures:
 * - inserts/s with `insertMany` in batches of 1,000 (filling the collection),
 * - inserts/s with single `create` calls, `concurrency` at a time,
 * - find-by-_id/s and find-by-unique-field/s: `requests` lookups of random
 *   existing keys, `concurrency` in flight, with p50/p99 latency.
 *
 * The bar: lookup by a unique index stays flat — at most 2× slower
 * per request at 100k than at 1k. The ratio is printed and saved.
 *
 * devdb runs in this process, as in the tests: client and server share one
 * event loop, so the figures include mongoose's and the driver's own cost.
 *
 * Not a test: run by hand, takes well under two minutes.
 *   npx tsx bench/devdb.ts [--sizes 1000,100000] [--modes memory,disk]
 *                          [--requests 20000] [--concurrency 16] [--creates 5000]
 * Prints a Markdown table and writes bench/results/devdb-<date>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mongoose, { Schema, Types } from 'mongoose';
import { startDevDb } from '../devdb';

/** Report lines for whoever runs this by hand (stdout, not a log). */
const print = (...parts: unknown[]): void => void process.stdout.write(parts.join(' ') + '\n');

type Mode = 'memory' | 'disk';

interface Options {
  sizes: number[];
  modes: Mode[];
  requests: number;
  concurrency: number;
  creates: number;
}

interface Lookup {
  perSec: number;
  p50ms: number;
  p99ms: number;
}

interface Row {
  mode: Mode;
  docs: number;
  insertManyPerSec: number;
  createPerSec: number;
  findById: Lookup;
  findByUnique: Lookup;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { sizes: [1_000, 100_000], modes: ['memory', 'disk'], requests: 20_000, concurrency: 16, creates: 5_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    if (flag === '--sizes') opts.sizes = value.split(',').map(Number);
    else if (flag === '--modes') opts.modes = value.split(',') as Mode[];
    else if (flag === '--requests') opts.requests = Number(value);
    else if (flag === '--concurrency') opts.concurrency = Number(value);
    else if (flag === '--creates') opts.creates = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  return opts;
}

const itemSchema = new Schema({
  key: { type: String, required: true, unique: true },
  n: Number,
  owner: String,
  status: String,
  payload: String,
});

const payload = 'x'.repeat(120);
const item = (i: number, prefix = 'k') => ({
  key: `${prefix}-${i.toString(36)}-${(i * 2654435761) % 1e9}`,
  n: i,
  owner: `owner-${i % 97}`,
  status: i % 3 ? 'transit' : 'delivered',
  payload,
});

/** Runs `total` calls of `fn`, at most `concurrency` at once; returns wall time and per-call latencies (ms). */
async function pool(total: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  const latencies = new Float64Array(total);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await fn(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  return { ms: performance.now() - started, latencies };
}

function summarize(total: number, run: { ms: number; latencies: Float64Array }): Lookup {
  const sorted = Array.from(run.latencies).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { perSec: (total / run.ms) * 1000, p50ms: at(0.5), p99ms: at(0.99) };
}

async function measure(mode: Mode, docs: number, opts: Options): Promise<Row> {
  const dataDir = mode === 'disk' ? mkdtempSync(join(tmpdir(), 'devdb-bench-')) : undefined;
  const server = await startDevDb({ port: 0, dataDir });
  const conn = await mongoose.createConnection(server.uri, { dbName: 'bench', maxPoolSize: opts.concurrency + 4 }).asPromise();
  try {
    const Item = conn.model('Item', itemSchema);
    const Single = conn.model('Single', itemSchema);
    await Promise.all([Item.init(), Single.init()]);

    // fill: insertMany in batches of 1,000
    const ids: Types.ObjectId[] = [];
    const keys: string[] = [];
    const batch = 1_000;
    const t0 = performance.now();
    for (let start = 0; start < docs; start += batch) {
      const chunk = Array.from({ length: Math.min(batch, docs - start) }, (_, j) => item(start + j));
      const inserted = await Item.insertMany(chunk, { lean: true });
      for (const d of inserted) {
        ids.push(d._id as Types.ObjectId);
        keys.push(d.key);
      }
    }
    const insertManyPerSec = (docs / (performance.now() - t0)) * 1000;
    if ((await Item.estimatedDocumentCount()) !== docs) throw new Error('fill lost documents');

    // single creates, `concurrency` at a time, into their own collection
    const creates = await pool(opts.creates, opts.concurrency, (i) => Single.create(item(i, 's')));
    const createPerSec = (opts.creates / creates.ms) * 1000;

    // lookups of random existing keys; a short warm-up first
    const pick = <T>(arr: T[]) => arr[Math.floor(Math.random() * arr.length)];
    const byId = async () => {
      const id = pick(ids);
      const doc = await Item.findById(id).lean();
      if (!doc) throw new Error(`findById missed ${String(id)}`);
    };
    const byKey = async () => {
      const key = pick(keys);
      const doc = await Item.findOne({ key }).lean();
      if (!doc) throw new Error(`findOne missed ${key}`);
    };
    await pool(2_000, opts.concurrency, byId);
    await pool(2_000, opts.concurrency, byKey);
    const findById = summarize(opts.requests, await pool(opts.requests, opts.concurrency, byId));
    const findByUnique = summarize(opts.requests, await pool(opts.requests, opts.concurrency, byKey));

    return { mode, docs, insertManyPerSec, createPerSec, findById, findByUnique };
  } finally {
    await conn.close();
    await server.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(2);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  // a throwaway round so the first measured row does not pay for JIT warm-up
  await measure('memory', 1_000, { ...opts, requests: 2_000, creates: 1_000 });
  const rows: Row[] = [];
  for (const mode of opts.modes) {
    for (const docs of opts.sizes) {
      process.stderr.write(`measuring ${mode} at ${fmt(docs)} documents…\n`);
      rows.push(await measure(mode, docs, opts));
    }
  }

  const lines = [
    `| storage | docs | insertMany/s (batches of 1k) | create/s (${opts.concurrency} concurrent) | find by _id/s (p50 / p99 ms) | find by unique field/s (p50 / p99 ms) |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${fmt(r.docs)} | ${fmt(r.insertManyPerSec)} | ${fmt(r.createPerSec)} | ` +
        `${fmt(r.findById.perSec)} (${ms(r.findById.p50ms)} / ${ms(r.findById.p99ms)}) | ` +
        `${fmt(r.findByUnique.perSec)} (${ms(r.findByUnique.p50ms)} / ${ms(r.findByUnique.p99ms)}) |`,
    ),
  ];

  // slowdown per lookup from the smallest to the largest size: throughput(small) / throughput(large)
  const small = Math.min(...opts.sizes);
  const large = Math.max(...opts.sizes);
  const ratios = opts.modes.flatMap((mode) => {
    const a = rows.find((r) => r.mode === mode && r.docs === small);
    const b = rows.find((r) => r.mode === mode && r.docs === large);
    if (!a || !b || a === b) return [];
    return [
      {
        mode,
        from: small,
        to: large,
        findById: a.findById.perSec / b.findById.perSec,
        findByUnique: a.findByUnique.perSec / b.findByUnique.perSec,
      },
    ];
  });
  if (ratios.length) {
    lines.push('', `| storage | slowdown ${fmt(small)} → ${fmt(large)}: find by _id | find by unique field (must be ≤ 2×) |`, '|---|---:|---:|');
    for (const r of ratios) {
      const verdict = r.findByUnique <= 2 ? 'ok' : 'TOO SLOW';
      lines.push(`| ${r.mode} | ${r.findById.toFixed(2)}× | ${r.findByUnique.toFixed(2)}× (${verdict}) |`);
    }
  }

  const table = lines.join('\n');
  print(table);

  const date = new Date().toISOString().slice(0, 10);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `devdb-${date}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpu: cpus()[0]?.model,
        cpus: cpus().length,
        options: opts,
        seconds: (Date.now() - started) / 1000,
        rows,
        ratios,
      },
      null,
      2,
    ) + '\n',
  );
  print(`\nwritten ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (ratios.some((r) => r.findByUnique > 2)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
