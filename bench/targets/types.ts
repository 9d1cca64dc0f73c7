/**
 * What a target module (bench/targets/<module>.ts) exports: `startTarget`,
 * run inside its own child process by bench/runner/gateway.ts.
 */
import type { SubgraphName } from '../../schema';

export interface TargetStart {
  /** The module under bench/targets/ that starts it. */
  module: 'tracksafe' | 'apollo' | 'hive';
  /** Module-specific switch: tracksafe 'secured' | 'off'; hive 'dedup' | 'nodedup'. */
  variant?: string;
  /** The subgraphs it calls. */
  subgraphUrls: Record<SubgraphName, string>;
  /** The bench's scratch folder (keys). */
  dir: string;
}

export interface RunningTarget {
  /** The GraphQL endpoint. */
  url: string;
  stop(): Promise<void>;
}

export interface TargetModule {
  startTarget(start: TargetStart): Promise<RunningTarget>;
}
