/**
 * Bench internals: per-target summaries over the rounds, the ratios the
 * issue sets goals for, and the Markdown table.
 */
import type { Measurement } from './load';
import { TARGETS, type TargetName } from './targets';

export interface TargetSummary {
  target: TargetName;
  /** Medians over the rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Totals over the rounds divided by the responses of all rounds. */
  gatewayCpuMsPerReq: number;
  subgraphsCpuMsPerReq: number;
  databaseCpuMsPerReq: number;
  dbQueriesPerReq: number;
  requests: number;
  errors: number;
  /** Bytes of the first response to each operation (checked before measuring). */
  responseBytes: number[];
}

export interface Ratio {
  /** "tracksafe-secured ÷ apollo-gateway". */
  label: string;
  numerator: TargetName;
  denominator: TargetName;
  /** Median of the per-round ratios of req/s (each round's pair ran back to back). */
  median: number;
  min: number;
  max: number;
  /** The issue's goal for the req/s ratio (at least), when it sets one. */
  goal?: number;
  /** Median of the per-round ratios of mean latency (numerator ÷ denominator; autocannon's p50 is whole milliseconds). */
  latency: number;
  /** The issue's goal for the latency ratio (at most), when it sets one. */
  latencyGoal?: number;
  /**
   * Median per-round ratio of gateway CPU per request, denominator ÷
   * numerator: how many times less gateway CPU the numerator spends per
   * request (> 1 = the numerator is the cheaper gateway).
   */
  cpuEfficiency: number;
}

export interface BenchResult {
  scenario: string;
  description: string;
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAtStart: number[]; loadAtEnd: number[] };
  parameters: { rounds: number; duration: number; connections: number; warmup: number; shipmentsPerTenant: number };
  targets: Array<{ name: TargetName; describe: string }>;
  /** Targets left out, and why. */
  skipped: Array<{ name: TargetName; reason: string }>;
  rounds: Array<{ round: number; order: TargetName[]; results: Partial<Record<TargetName, Measurement>> }>;
  summary: TargetSummary[];
  ratios: Ratio[];
}

const median = (xs: number[]): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function summarise(target: TargetName, rounds: BenchResult['rounds'], responseBytes: number[]): TargetSummary {
  const ms = rounds.map((r) => r.results[target]).filter((m): m is Measurement => !!m);
  const requests = ms.reduce((s, m) => s + m.requests, 0);
  const weighted = (f: (m: Measurement) => number) => (requests ? ms.reduce((s, m) => s + f(m) * m.requests, 0) / requests : 0);
  return {
    target,
    rps: median(ms.map((m) => m.rps)),
    p50Ms: median(ms.map((m) => m.p50Ms)),
    p99Ms: median(ms.map((m) => m.p99Ms)),
    gatewayCpuMsPerReq: weighted((m) => m.gatewayCpuMsPerReq),
    subgraphsCpuMsPerReq: weighted((m) => m.subgraphsCpuMsPerReq),
    databaseCpuMsPerReq: weighted((m) => m.databaseCpuMsPerReq),
    dbQueriesPerReq: weighted((m) => m.dbQueriesPerReq),
    requests,
    errors: ms.reduce((s, m) => s + m.errors, 0),
    responseBytes,
  };
}

/** The pairs reported, with the issue's goals: secured Tracksafe against each peer, and against itself without encryption. */
const PAIRS: Array<{ a: TargetName; b: TargetName; goal?: number; latencyGoal?: number }> = [
  { a: 'tracksafe-secured', b: 'apollo-gateway', goal: 1.2 },
  { a: 'tracksafe-secured', b: 'hive-nodedup', goal: 1.4 },
  { a: 'tracksafe-secured', b: 'hive-dedup', goal: 1.15 },
  // Encryption on against off, everything else equal: at most 1.15 × the plaintext latency.
  { a: 'tracksafe-secured', b: 'tracksafe-plaintext', latencyGoal: 1.15 },
  { a: 'tracksafe-secured', b: 'tracksafe-off' },
  { a: 'tracksafe-off', b: 'apollo-gateway' },
];

export function ratios(rounds: BenchResult['rounds']): Ratio[] {
  const out: Ratio[] = [];
  for (const { a, b, goal, latencyGoal } of PAIRS) {
    const pairs = rounds.filter((r) => r.results[a] && r.results[b]).map((r) => [r.results[a]!, r.results[b]!] as const);
    const per = pairs.map(([x, y]) => x.rps / y.rps).filter((x) => Number.isFinite(x));
    if (!per.length) continue;
    const cpu = pairs.map(([x, y]) => y.gatewayCpuMsPerReq / x.gatewayCpuMsPerReq).filter((x) => Number.isFinite(x));
    const latency = pairs.map(([x, y]) => x.meanMs / y.meanMs).filter((x) => Number.isFinite(x));
    out.push({
      label: `${a} ÷ ${b}`,
      numerator: a,
      denominator: b,
      median: median(per),
      min: Math.min(...per),
      max: Math.max(...per),
      ...(goal ? { goal } : {}),
      latency: median(latency),
      ...(latencyGoal ? { latencyGoal } : {}),
      cpuEfficiency: median(cpu),
    });
  }
  return out;
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

export function markdown(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`## ${r.scenario} — ${r.date}`, '', r.description, '');
  lines.push(
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, load average ${r.machine.loadAtStart.map((x) => x.toFixed(2)).join(' / ')} at start, ${r.machine.loadAtEnd.map((x) => x.toFixed(2)).join(' / ')} at end (1/5/15 min; other work shares the machine).`,
    `Run: ${r.parameters.rounds} rounds × ${r.parameters.duration} s per target, ${r.parameters.connections} connections, ${r.parameters.warmup} s warm-up per target, targets in rotated order each round; ${r.parameters.shipmentsPerTenant} shipments per tenant seeded.`,
    '',
  );
  lines.push('| target | req/s (median) | p50 ms | p99 ms | gateway CPU ms/req | subgraphs CPU ms/req | database CPU ms/req | DB queries/req | errors / requests | response bytes |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.summary) {
    lines.push(
      `| ${s.target} | ${f(s.rps, 0)} | ${f(s.p50Ms, 0)} | ${f(s.p99Ms, 0)} | ${f(s.gatewayCpuMsPerReq, 2)} | ${f(s.subgraphsCpuMsPerReq, 2)} | ${f(s.databaseCpuMsPerReq, 2)} | ${f(s.dbQueriesPerReq, 2)} | ${s.errors} / ${s.requests} | ${s.responseBytes.join(' + ')} |`,
    );
  }
  if (r.ratios.length) {
    lines.push(
      '',
      '| ratio (each round\'s pair, then the median) | req/s ratio | min – max | mean latency ratio | goal | gateway CPU efficiency (÷ CPU ms/req) |',
      '|---|---:|---:|---:|---|---:|',
    );
    for (const q of r.ratios) {
      const goals = [
        q.goal ? `req/s ≥ ${q.goal} ${q.median >= q.goal ? '✅ met' : '❌ not met'}` : '',
        q.latencyGoal ? `latency ≤ ${q.latencyGoal} ${q.latency <= q.latencyGoal ? '✅ met' : '❌ not met'}` : '',
      ].filter(Boolean);
      lines.push(`| ${q.label} | ${f(q.median, 2)} | ${f(q.min, 2)} – ${f(q.max, 2)} | ${f(q.latency, 2)} | ${goals.join('; ')} | ${f(q.cpuEfficiency, 2)} |`);
    }
  }
  lines.push('', 'Per round (req/s, load average before):', '');
  lines.push(`| round | ${r.targets.map((t) => t.name).join(' | ')} |`, `|---|${r.targets.map(() => '---:').join('|')}|`);
  for (const round of r.rounds) {
    lines.push(`| ${round.round} | ${r.targets.map((t) => (round.results[t.name] ? `${f(round.results[t.name]!.rps, 0)} (${f(round.results[t.name]!.load[0], 1)})` : '–')).join(' | ')} |`);
  }
  lines.push('', 'Targets:', '');
  for (const t of r.targets) lines.push(`- **${t.name}**: ${TARGETS[t.name].describe}`);
  for (const s of r.skipped) lines.push(`- ~~${s.name}~~ skipped: ${s.reason}`);
  lines.push('');
  return lines.join('\n');
}
