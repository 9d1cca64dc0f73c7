/**
 * A smoke run of every bench scenario with tiny numbers (1 round of 1 s, 2
 * connections, no warm-up) on one set of processes: the runner starts,
 * every target answers every scenario correctly, and a table comes out
 * with no errors. Not a benchmark: the figures are not looked at. Hive
 * Gateway targets are skipped when bench/peers/hive has no node_modules
 * (CI does not install it).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadScenario, runScenario, startWorld, type World } from '../../bench/runner/run';
import { TARGET_NAMES, hiveInstalled } from '../../bench/runner/targets';

const SCENARIOS = readdirSync(path.join(__dirname, '../../bench/scenarios'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));

jest.setTimeout(90_000);

describe('bench smoke run', () => {
  let world: World;
  const lines: string[] = [];

  beforeAll(async () => {
    world = await startWorld(TARGET_NAMES, (l) => lines.push(l));
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('starts every target, skipping Hive only when it is not installed', () => {
    const expected = TARGET_NAMES.filter((t) => hiveInstalled() || !t.startsWith('hive-'));
    expect([...world.targets].sort()).toEqual([...expected].sort());
  });

  it.each(SCENARIOS)('%s: every target answers without errors and the table is written', async (name) => {
    const { result, markdown } = await runScenario(world, await loadScenario(name), { rounds: 1, duration: 1, connections: 2, warmup: 0, write: false });
    expect(result.summary.map((s) => s.target)).toEqual(world.targets);
    for (const s of result.summary) {
      expect({ target: s.target, errors: s.errors }).toEqual({ target: s.target, errors: 0 });
      expect(s.requests).toBeGreaterThan(0);
    }
    expect(markdown).toContain('| target | req/s (median) |');
  });
});
