/**
 * What a scenario is: one small file in bench/scenarios/ that says which
 * operations to send, as whom, to which targets, and with what defaults.
 * `npm run bench -- <name>` loads bench/scenarios/<name>.ts.
 */
import type { DemoPlan } from '../../lib/demo';
import type { TargetName } from './targets';

export interface BenchOperation {
  /** Its name in reports. */
  name: string;
  query: string;
  /**
   * Fixed variables, or a function making them fresh for each request
   * (`n` counts this operation's requests on the connection; `connection`
   * numbers the connections from 0), e.g. for unique idempotency keys.
   */
  variables?: Record<string, unknown> | ((n: number, connection: number) => Record<string, unknown>);
}

export interface ScenarioDefaults {
  /** Rounds: every target runs once per round, in a rotated order. */
  rounds: number;
  /** Seconds of load per target per round. */
  duration: number;
  /** Concurrent connections (each with its own access token). */
  connections: number;
  /** Seconds of unmeasured load per target before the first round. */
  warmup: number;
}

export interface Scenario {
  name: string;
  /** One sentence: what it measures. */
  description: string;
  /**
   * The caller: a demo user by tenant index (0 Northwind, EU; 1 Pacific,
   * US) and role. Each connection gets its own access token for them; the
   * secured gateway verifies it, the others ignore the header.
   */
  caller: { tenant: 0 | 1; role: string };
  /** The operations each connection sends in turn, in a loop. */
  operations(plan: DemoPlan): BenchOperation[];
  /**
   * Checks the first response of each operation on each target (before
   * measuring): a problem to report, or undefined.
   * @default no GraphQL errors and some data
   */
  check?(operation: string, body: { data?: unknown; errors?: unknown[] }): string | undefined;
  /** @default DEFAULT_TARGETS (bench/runner/targets.ts): every peer, not tracksafe-plaintext */
  targets?: TargetName[];
  defaults?: Partial<ScenarioDefaults>;
}

export const DEFAULTS: ScenarioDefaults = { rounds: 5, duration: 5, connections: 10, warmup: 3 };

/** Identity with a type: scenario files `export default defineScenario({ … })`. */
export function defineScenario(s: Scenario): Scenario {
  return s;
}
