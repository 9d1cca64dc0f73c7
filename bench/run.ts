/**
 * `npm run bench -- <scenario> [--rounds N] [--duration S] [--connections C]
 *   [--warmup S] [--targets a,b] [--profile target|database|shipment:secured,…] [--label text]`
 *
 * Runs bench/scenarios/<scenario>.ts against the targets (see README.md),
 * prints the Markdown table and writes bench/results/<scenario>-<date>.{json,md}.
 * A benchmark, not a test: run it by hand on a quiet machine.
 */
import { runBench, type RunOptions } from './runner/run';
import { TARGET_NAMES, type TargetName } from './runner/targets';

function parse(argv: string[]): RunOptions {
  const [scenario, ...rest] = argv;
  if (!scenario || scenario.startsWith('-')) throw new Error('usage: npm run bench -- <scenario> [--rounds N --duration S --connections C --warmup S --targets a,b --profile t --label x]');
  const opts: RunOptions = { scenario };
  const targetList = (v: string): TargetName[] =>
    v.split(',').map((t) => {
      if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`unknown target ${t} (one of ${TARGET_NAMES.join(', ')})`);
      return t as TargetName;
    });
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    const num = () => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number, got ${value}`);
      return n;
    };
    if (flag === '--rounds') opts.rounds = num();
    else if (flag === '--duration') opts.duration = num();
    else if (flag === '--connections') opts.connections = num();
    else if (flag === '--warmup') opts.warmup = num();
    else if (flag === '--targets') opts.targets = targetList(value);
    else if (flag === '--profile') opts.profile = value.split(',');
    else if (flag === '--label') opts.label = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  return opts;
}

runBench(parse(process.argv.slice(2))).then(
  ({ markdown, files }) => {
    process.stdout.write(`${markdown}\n`);
    for (const f of files) process.stderr.write(`wrote ${f}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
