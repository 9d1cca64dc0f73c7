/**
 * The query limits of each environment. Production values sit just above
 * the largest legitimate operation we know of (the e2e tests, the README
 * and the trusted-document manifests, measured by
 * test/hardening/legitimate-operations.test.ts); development is relaxed so
 * exploratory queries and load scripts are not refused. Every value can be
 * overridden from the environment (settings.ts).
 */
import type { AppEnv } from '../config';

export interface QueryLimits {
  /**
   * Deepest selection, counted by graphql-armor with fragments flattened
   * (`{ shipments { edges { node { id } } } }` is 4).
   */
  maxDepth: number;
  /** Aliases per operation (every alias counts, `__typename` too). */
  maxAliases: number;
  /** Directives per operation. */
  maxDirectives: number;
  /** Lexical tokens per document (checked by the parser, before anything else). */
  maxTokens: number;
  /** Field selections per operation, each fragment counted once per spread, `__typename` included. */
  maxFields: number;
  /** Estimated cost per operation (lib/limits/cost.ts). */
  maxCost: number;
  /** Cost a client (principal + tenant, or IP when anonymous) may spend per minute; 0 = no budget. */
  costBudgetPerMinute: number;
  /**
   * Operations per HTTP request in a JSON array; 1 = batching off (a JSON
   * array is refused with BATCHING_DISABLED).
   */
  maxBatchSize: number;
}

export const QUERY_LIMITS: Record<AppEnv, QueryLimits> = {
  // Measured legitimate maxima (e2e tests, README, manifests): depth 8, aliases 2, directives 1, tokens 98, fields 41, cost 552.
  production: {
    // 8 + one more nesting level; a connection adds two (edges, node).
    maxDepth: 10,
    maxAliases: 10,
    maxDirectives: 5,
    // Above graphql-cop's 500 × __typename (503 tokens), so that attack meets the field cap and its own code.
    maxTokens: 1000,
    maxFields: 200,
    // The e2e "spanning" query at the largest page (first: 100) costs 2202.
    maxCost: 5000,
    // About ten full-page spanning queries, or a hundred typical dashboard queries, a minute.
    costBudgetPerMinute: 50_000,
    maxBatchSize: 1,
  },
  // As production, with room for the standard introspection query admins run from Sandbox (230 fields, 184 tokens).
  staging: {
    maxDepth: 10,
    maxAliases: 10,
    maxDirectives: 5,
    maxTokens: 2000,
    maxFields: 300,
    maxCost: 5000,
    costBudgetPerMinute: 50_000,
    maxBatchSize: 1,
  },
  // Relaxed, not off: the same code runs, and only absurd operations are refused.
  development: {
    maxDepth: 20,
    maxAliases: 100,
    maxDirectives: 50,
    maxTokens: 20_000,
    maxFields: 3000,
    maxCost: 200_000,
    costBudgetPerMinute: 20_000_000,
    maxBatchSize: 1,
  },
};

/** The limits of `appEnv` with `overrides` applied (undefined values are ignored). */
export function queryLimitsFor(appEnv: AppEnv, overrides: Partial<QueryLimits> = {}): QueryLimits {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<QueryLimits>;
  return { ...QUERY_LIMITS[appEnv], ...defined };
}
