/**
 * The targets the runner can measure, and what each one is. Every target
 * runs in its own child process (bench/runner/gateway.ts) on the same
 * subgraphs and data (bench/runner/backend.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TargetStart } from '../targets/types';

export const TARGET_NAMES = ['tracksafe-secured', 'tracksafe-plaintext', 'tracksafe-off', 'apollo-gateway', 'hive-dedup', 'hive-nodedup'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
/** What a scenario measures when it names no targets: the peers (tracksafe-plaintext only where encryption is the question). */
export const DEFAULT_TARGETS: readonly TargetName[] = TARGET_NAMES.filter((t) => t !== 'tracksafe-plaintext');

/**
 * The sets of subgraph processes: `secured` (every security feature on, the
 * encrypted database), `plaintext` (the same, but reading the plaintext copy
 * with field encryption off: what encryption costs), `open` (security and
 * encryption off, what the peers call).
 */
export type SubgraphSet = 'secured' | 'plaintext' | 'open';

export interface TargetDefinition {
  module: TargetStart['module'];
  variant?: string;
  /** Which subgraphs it calls. */
  subgraphs: SubgraphSet;
  /** What it runs, for the report. */
  describe: string;
}

export const TARGETS: Record<TargetName, TargetDefinition> = {
  'tracksafe-secured': {
    module: 'tracksafe',
    variant: 'secured',
    subgraphs: 'secured',
    describe:
      'Tracksafe gateway, APP_ENV=production, every security feature on (token verification + principal status, guard, armor limits, field cap, cost + budget, trusted documents, rate limits sized not to throttle, security headers, CORS, masked errors, internal hop tokens) → secured subgraphs (hop token verified per request, shield rules, audit)',
  },
  'tracksafe-plaintext': {
    module: 'tracksafe',
    variant: 'secured',
    subgraphs: 'plaintext',
    describe:
      'The secured Tracksafe gateway (as tracksafe-secured) → subgraphs secured as tracksafe-secured\'s but reading the plaintext copy of the data with field encryption off (bench-only): tracksafe-secured ÷ this is what encryption costs',
  },
  'tracksafe-off': {
    module: 'tracksafe',
    variant: 'off',
    subgraphs: 'open',
    describe: "The same Tracksafe gateway code with security 'off' (bench-only switch), APP_ENV=staging → open subgraphs (security 'off')",
  },
  'apollo-gateway': {
    module: 'apollo',
    subgraphs: 'open',
    describe: '@apollo/gateway 2.14 in Apollo Server 5 (startStandaloneServer), default settings incl. the default make-fetch-happen fetcher → open subgraphs',
  },
  'hive-dedup': {
    module: 'hive',
    variant: 'dedup',
    subgraphs: 'open',
    describe: '@graphql-hive/gateway 2.15 runtime, defaults (in-flight deduplication of subgraph requests on), one process → open subgraphs',
  },
  'hive-nodedup': {
    module: 'hive',
    variant: 'nodedup',
    subgraphs: 'open',
    describe: '@graphql-hive/gateway 2.15 runtime, in-flight deduplication off, one process → open subgraphs',
  },
};

/** True when Hive Gateway is installed (`npm install` in bench/peers/hive; CI does not). */
export function hiveInstalled(): boolean {
  return existsSync(path.join(__dirname, '../peers/hive/node_modules/@graphql-hive/gateway/package.json'));
}
