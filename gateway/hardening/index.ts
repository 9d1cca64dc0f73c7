/**
 * The gateway's API hardening in one factory: query limits (graphql-armor
 * plus our field cap and sensitive-field rule), the token limit in the
 * parser, cost and cost budgets, trusted documents, batching, introspection
 * per environment and error hygiene. gateway/server.ts spreads
 * `apolloConfig` into its ApolloServer config, adds `plugins`, wraps its
 * `formatError` and binds the client address in its context function.
 * Codes, limits and settings: README.md beside this file.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { ValidationRule } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AppEnv } from '../../lib/config';
import type { Principal } from '../../lib/context';
import {
  type CostBudget,
  type CostMap,
  DEFAULT_COSTS,
  DEFAULT_LIST_SIZE,
  DEFAULT_SENSITIVE_ROOT_FIELDS,
  type HardeningSettings,
  MemoryCostBudget,
  type QueryLimits,
  RateLimiterCostBudget,
  armorProtection,
  maxFieldsRule,
  queryLimitsFor,
  sensitiveFieldsRule,
} from '../../lib/limits';
import { TrustedDocumentStore } from '../../lib/trusted-documents';
import { bindClientAddress } from './client';
import { type FormatError, hardenedFormatError } from './errors';
import { hardeningPlugin } from './plugin';
import { type TrustedDocumentsOptions, trustedDocumentsGate } from './trusted-documents';

export { bindClientAddress, clientAddressOf } from './client';
export { type FormatError, MASKED_MESSAGES, hardenedFormatError, stripSuggestions } from './errors';
export { selectsIntrospection } from './plugin';
export { REFUSED_DOCUMENT, type TrustedDocumentsOptions } from './trusted-documents';

export interface GatewayHardeningOptions {
  appEnv: AppEnv;
  /** Overrides of the environment's limits (lib/limits/profiles.ts). @default none */
  limits?: Partial<QueryLimits>;
  /** Per-field costs, `Type.field` → cost / list size. @default DEFAULT_COSTS */
  costs?: CostMap;
  /** @default DEFAULT_LIST_SIZE (10) */
  defaultListSize?: number;
  /**
   * Where cost budgets are kept: a `CostBudget`, or a rate-limiter-flexible
   * limiter (e.g. Redis with a memory insurance limiter) whose points are
   * the budget per its duration.
   * @default a `MemoryCostBudget` of `limits.costBudgetPerMinute` per minute (none when that is 0)
   */
  budget?: CostBudget | RateLimiterAbstract;
  /** Clock of the default memory budget, in ms (tests freeze it). @default Date.now */
  now?: () => number;
  /**
   * Trusted documents: the store (or the folder to load it from) and the
   * policy. @default the checked-in manifests, enforced in production only,
   * every unregistered client open
   */
  trustedDocuments?: Partial<Omit<TrustedDocumentsOptions, 'store'>> & { store?: TrustedDocumentStore; dir?: string };
  /** @default DEFAULT_SENSITIVE_ROOT_FIELDS */
  sensitiveRootFields?: readonly string[];
  /** Roles that may introspect in staging. @default ['SECURITY_ADMIN', 'TENANT_ADMIN'] */
  adminRoles?: readonly string[];
  /** The client's address (anonymous budgets are per address). @default the socket's remote address */
  clientAddress?: (req: IncomingMessage) => string;
}

/** What ApolloServer's config takes from the hardening (spread it after the options it replaces). */
export interface HardeningApolloConfig {
  validationRules: ValidationRule[];
  parseOptions: { maxTokens: number };
  allowBatchedHttpRequests: boolean;
  /** Present (false) in production only: automatic persisted queries off. */
  persistedQueries?: false;
}

export interface GatewayHardening<C extends { principal: Principal }> {
  readonly limits: QueryLimits;
  readonly trustedDocuments: TrustedDocumentStore;
  readonly apolloConfig: HardeningApolloConfig;
  readonly plugins: ApolloServerPlugin<C>[];
  /** Wraps the gateway's `formatError` (see errors.ts). */
  formatError(inner: FormatError): FormatError;
  /** Call in the context function with the built context: remembers the client's address. Returns the context. */
  bindClient<T extends object>(req: IncomingMessage, context: T): T;
}

/** The options lib/config.ts's hardening settings describe (`createGateway({ hardening: hardeningOptionsFrom(config.hardening) })`). */
export function hardeningOptionsFrom(settings: HardeningSettings): Omit<GatewayHardeningOptions, 'appEnv'> {
  const td = settings.trustedDocuments;
  return {
    limits: settings.limits,
    trustedDocuments: { dir: td.dir, enforce: td.enforce, openClients: td.openClients, appBySubjectType: td.appBySubjectType },
    sensitiveRootFields: settings.sensitiveRootFields,
  };
}

export function createGatewayHardening<C extends { principal: Principal }>(opts: GatewayHardeningOptions): GatewayHardening<C> {
  const production = opts.appEnv === 'production';
  const limits = queryLimitsFor(opts.appEnv, opts.limits);
  const tdOpts = opts.trustedDocuments ?? {};
  const store = tdOpts.store ?? TrustedDocumentStore.fromDir(tdOpts.dir);
  const gate = trustedDocumentsGate({ ...tdOpts, store, enforce: tdOpts.enforce ?? production });
  // rate-limiter-flexible exports RateLimiterAbstract as a type only: tell the two kinds apart by shape.
  const budget = !opts.budget
    ? limits.costBudgetPerMinute > 0
      ? new MemoryCostBudget({ budget: limits.costBudgetPerMinute, now: opts.now })
      : undefined
    : 'spend' in opts.budget
      ? opts.budget
      : new RateLimiterCostBudget(opts.budget);
  // Where admins may introspect, graphql-js's introspection depth rule bounds circular introspection instead of the depth limit.
  const armor = armorProtection({ limits, countIntrospectionDepth: production });
  const sensitive = opts.sensitiveRootFields ?? DEFAULT_SENSITIVE_ROOT_FIELDS;
  const clientAddress = opts.clientAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');

  return {
    limits,
    trustedDocuments: store,
    apolloConfig: {
      validationRules: [...armor.validationRules, maxFieldsRule(limits.maxFields), sensitiveFieldsRule(sensitive)],
      parseOptions: { maxTokens: limits.maxTokens },
      allowBatchedHttpRequests: limits.maxBatchSize > 1,
      ...(production ? { persistedQueries: false as const } : {}),
    },
    plugins: [
      ...(armor.plugins as ApolloServerPlugin<C>[]),
      hardeningPlugin<C>({
        limits,
        cost: { costs: opts.costs ?? DEFAULT_COSTS, defaultListSize: opts.defaultListSize ?? DEFAULT_LIST_SIZE },
        budget,
        gate,
        sensitiveRootFields: sensitive,
        introspection: production ? 'off' : opts.appEnv === 'staging' ? 'admins' : 'on',
        adminRoles: opts.adminRoles ?? ['SECURITY_ADMIN', 'TENANT_ADMIN'],
        scrubResponseExtensions: production,
      }),
    ],
    formatError: (inner) => hardenedFormatError(opts.appEnv, inner),
    bindClient: (req, context) => bindClientAddress(context, clientAddress(req)),
  };
}
