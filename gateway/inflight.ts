/**
 * In-flight deduplication, per principal: identical concurrent reads of the
 * same caller share one execution (a whole operation) or one subgraph
 * fetch, instead of asking the subgraphs and the database again. Nothing
 * is cached: an entry lives only while its first request is in flight.
 *
 * What may share, and why it is safe:
 * - Only `query` operations (one operation per document, checked by parsing
 *   it); mutations and subscriptions never share.
 * - Only requests of the same principal: its kind, id, tenant, region,
 *   roles and scopes (elevations included), partner contracts, shift,
 *   authentication methods and time. Two callers that differ in anything a
 *   rule or a data filter can read never share. What is left out is the
 *   identity of the bearer token (`tokenId`, `expiresAt`): two tokens of one
 *   user with the same grants and the same login read the same data, and
 *   nothing downstream reads either field (the hop token's own expiry is
 *   capped by it, see lib/auth/internal-token.ts).
 * - Only authenticated principals (`kind: 'user'`): anonymous and system
 *   callers never share.
 * - Every request still passes every gateway check on its own (token,
 *   principal status, guard, limits, cost budget, rate limits) before it
 *   can join; a refused request never reaches this point.
 * - Each request gets its own copy of what it reads: a shared subgraph
 *   answer is shared as bytes and parsed per request; a shared operation
 *   result is read-only (Apollo Server formats errors into new objects).
 *
 * What a request that joins another gives up: the subgraphs see (and log)
 * the first request's `x-request-id` and hop token, not its own; errors it
 * gets back still carry its own request id (lib/apollo-plugins.ts).
 */
import type { ApolloGateway } from '@apollo/gateway';
import { parse, Kind } from 'graphql';
import type { Principal } from '../lib/context';

/** What the gateway deduplicates (INFLIGHT_DEDUP). */
export interface InflightDedupOptions {
  /** Identical concurrent operations of one principal share one execution. @default true */
  operations?: boolean;
  /** Identical concurrent subgraph fetches of one principal share one HTTP request. @default true */
  subgraphFetches?: boolean;
}

/** One shared promise per key while it is pending. */
export class Inflight<T> {
  private readonly pending = new Map<string, Promise<T>>();
  /** How many calls joined a pending one (for tests and metrics). */
  joined = 0;

  run(key: string, start: () => Promise<T>): Promise<T> {
    const found = this.pending.get(key);
    if (found) {
      this.joined++;
      return found;
    }
    const promise = start();
    this.pending.set(key, promise);
    const forget = () => {
      if (this.pending.get(key) === promise) this.pending.delete(key);
    };
    promise.then(forget, forget);
    return promise;
  }

  get size(): number {
    return this.pending.size;
  }
}

const keys = new WeakMap<object, string | null>();
/** Fields of a token principal that name the token rather than the grant: left out of the key. */
const TOKEN_FIELDS = new Set(['tokenId', 'expiresAt']);

/**
 * The key under which `principal`'s requests may share, or null when they
 * never share (anonymous, system, anything but an authenticated principal).
 */
export function principalKey(principal: Principal | undefined): string | null {
  if (!principal || principal.kind !== 'user') return null;
  const known = keys.get(principal);
  if (known !== undefined) return known;
  const key = JSON.stringify(principal, (k, v: unknown) => (TOKEN_FIELDS.has(k) ? undefined : v));
  // Only frozen principals (the verified-token cache's) are remembered: a mutable one could change after.
  if (Object.isFrozen(principal)) keys.set(principal, key);
  return key;
}

const queryOnly = new Map<string, boolean>();
const MAX_REMEMBERED_DOCUMENTS = 2000;

/** True when `source` is a document with exactly one operation, a query. Remembered per document text. */
/** Query fields a subgraph audits on every call (a conservative substring match: a false hit only skips sharing). */
export const AUDITED_READS: readonly string[] = ['shipmentsByRecipientContact'];

export function isQueryDocument(source: string): boolean {
  let known = queryOnly.get(source);
  if (known !== undefined) return known;
  // Reads that leave an audit record each time they run are never shared: every call must be recorded.
  if (AUDITED_READS.some((f) => source.includes(f))) return false;
  try {
    const ops = parse(source, { noLocation: true }).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    known = ops.length === 1 && ops[0].kind === Kind.OPERATION_DEFINITION && ops[0].operation === 'query';
  } catch {
    known = false;
  }
  if (queryOnly.size >= MAX_REMEMBERED_DOCUMENTS) queryOnly.clear();
  queryOnly.set(source, known);
  return known;
}

/** The part of ApolloGateway that Apollo Server uses. */
export type LoadableGateway = Pick<ApolloGateway, 'load' | 'onSchemaLoadOrUpdate' | 'stop'>;
type Executor = Awaited<ReturnType<ApolloGateway['load']>>['executor'];
type ExecutionResult = Awaited<ReturnType<Executor>>;
/** Apollo Server's per-request cache policy, as far as it is read here. */
interface CachePolicyLike {
  maxAge?: number;
  scope?: string;
  restrict(hint: { maxAge?: number; scope?: string }): void;
}
/** What a shared execution hands to the requests that joined it. */
interface SharedExecution {
  result: ExecutionResult;
  policy?: CachePolicyLike;
}

/**
 * `gateway`, with identical concurrent query operations of one principal
 * executed once: same principal key, same document (Apollo Server's hash
 * of its text), same operation name, same variables. Every request has
 * passed all of the gateway's checks before it reaches the executor.
 * The shared result is read-only: Apollo Server formats its errors into
 * new objects per request and serialises `data` as it is.
 */
export function dedupOperations(gateway: LoadableGateway, inflight: Inflight<SharedExecution> = new Inflight()): LoadableGateway & { inflight: Inflight<SharedExecution> } {
  return {
    inflight,
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    async load(options) {
      const loaded = await gateway.load(options);
      const execute = loaded.executor;
      const executor: Executor = (rc) => {
        const who = rc.operation?.operation === 'query' ? principalKey((rc.context as { principal?: Principal } | undefined)?.principal) : null;
        if (who === null || !rc.queryHash) return execute(rc);
        const key = `${who}\u0000${rc.queryHash}\u0000${rc.operationName ?? ''}\u0000${JSON.stringify(rc.request.variables ?? {})}`;
        let leader = false;
        const shared = inflight.run(key, () => {
          leader = true;
          return execute(rc).then((result) => ({ result, policy: rc.overallCachePolicy as CachePolicyLike | undefined }));
        });
        if (leader) return shared.then((s) => s.result);
        // The subgraphs' cache hints reached the first request's policy only: a request that joined takes the same.
        return shared.then(({ result, policy }) => {
          const own = rc.overallCachePolicy as CachePolicyLike | undefined;
          if (policy && own && typeof own.restrict === 'function' && policy !== own) own.restrict({ maxAge: policy.maxAge, scope: policy.scope });
          return result;
        });
      };
      return { ...loaded, executor };
    },
  };
}
