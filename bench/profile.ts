/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by
 * `npm run bench -- <scenario> --profile <target>`): the top functions by
 * self time, with their share of the non-idle samples, and the share of
 * time spent in each package.
 *
 *   npx tsx bench/profile.ts <file-or-folder> [--top 10]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time outside (idle), (program) and (garbage collector), in ms. */
  busyMs: number;
  gcMs: number;
  top: Array<{ fn: string; where: string; selfMs: number; share: number }>;
  packages: Array<{ name: string; selfMs: number; share: number }>;
}

const IDLE = new Set(['(idle)', '(program)']);

function where(url: string, line: number): string {
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('node_modules/');
  const rel = nm >= 0 ? clean.slice(nm + 'node_modules/'.length) : path.relative(process.cwd(), clean) || clean;
  return clean ? `${rel}:${line + 1}` : '(native)';
}

function packageOf(url: string): string {
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = clean.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (clean.startsWith('node:') || !clean) return clean ? 'node (core)' : '(native / V8)';
  return `tracksafe ${path.relative(process.cwd(), clean).split('/').slice(0, 2).join('/')}`;
}

/** Nodes under the inspector's own frames: the cost of stopping the profiler, not of the server. */
function inspectorNodes(profile: CpuProfile): Set<number> {
  const children = new Map(profile.nodes.map((n) => [n.id, n.children ?? []]));
  const out = new Set<number>();
  const mark = (id: number) => {
    if (out.has(id)) return;
    out.add(id);
    for (const c of children.get(id) ?? []) mark(c);
  };
  for (const n of profile.nodes) if (n.callFrame.url === 'node:inspector') mark(n.id);
  return out;
}

export function summariseProfile(profile: CpuProfile, top = 10): ProfileSummary {
  const skip = inspectorNodes(profile);
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFn = new Map<string, { fn: string; where: string; us: number }>();
  const byPkg = new Map<string, number>();
  let busy = 0;
  let gc = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    const name = node.callFrame.functionName || '(anonymous)';
    if (IDLE.has(name) || us === 0 || skip.has(node.id)) continue;
    busy += us;
    if (name === '(garbage collector)') gc += us;
    const w = where(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name}@${w}`;
    const e = byFn.get(key) ?? { fn: name, where: w, us: 0 };
    e.us += us;
    byFn.set(key, e);
    const pkg = name === '(garbage collector)' ? '(garbage collector)' : packageOf(node.callFrame.url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
  const share = (us: number) => (busy ? us / busy : 0);
  return {
    busyMs: busy / 1000,
    gcMs: gc / 1000,
    top: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, share: share(e.us) })),
    packages: [...byPkg.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: share(us) })),
  };
}

function files(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(target, f));
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 10;
  const targets = args.filter((a, i) => a !== '--top' && (topIdx < 0 || i !== topIdx + 1));
  if (!targets.length) {
    process.stderr.write('usage: npx tsx bench/profile.ts <file-or-folder> [--top 10]\n');
    process.exit(1);
  }
  for (const file of targets.flatMap(files)) {
    const s = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top);
    const lines = [`### ${path.relative(process.cwd(), file)}`, '', `busy ${s.busyMs.toFixed(0)} ms (GC ${((s.gcMs / s.busyMs) * 100).toFixed(1)} %)`, ''];
    lines.push('| # | function | where | self ms | share |', '|---:|---|---|---:|---:|');
    s.top.forEach((e, i) => lines.push(`| ${i + 1} | ${e.fn} | ${e.where} | ${e.selfMs.toFixed(0)} | ${(e.share * 100).toFixed(1)} % |`));
    lines.push('', '| package | self ms | share |', '|---|---:|---:|');
    for (const p of s.packages) lines.push(`| ${p.name} | ${p.selfMs.toFixed(0)} | ${(p.share * 100).toFixed(1)} % |`);
    process.stdout.write(`${lines.join('\n')}\n\n`);
  }
}
