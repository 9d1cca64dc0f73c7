/**
 * Where the gateway applies its buckets:
 * - `ipLimit` (HTTP middleware): every request, before authentication;
 * - `afterAuthentication` (in the context function): per principal, then per tenant;
 * - `plugin` (Apollo): `publicTracking`, one point per `trackShipment` root
 *   field (aliases count one each), keyed by client IP.
 * Token endpoint and login routes call `limits.enforce(...)` themselves.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../context';
import type { HttpMiddleware } from '../http';
import { appendRateLimitHeaders, limitItem, policyItem, refusalBody, type RateLimitDecision } from './headers';
import type { RateLimits } from './limits';

export interface GatewayRateLimitingOptions {
  limits: RateLimits;
  /** The client's address key (lib/transport/client-ip.ts, aware of trusted proxies). */
  clientIp: (req: IncomingMessage) => string;
  /** Query root fields that count against `publicTracking`. @default ['trackShipment'] */
  publicTrackingFields?: readonly string[];
}

export interface GatewayRateLimiting<C extends { principal: Principal }> {
  /** HTTP middleware: the `ip` bucket. Throws `RateLimitedError` (429) when refused. */
  ipLimit: HttpMiddleware;
  /**
   * Call in the context function once the principal is known: the
   * `principal` and `tenant` buckets for authenticated callers (anonymous
   * ones were limited by IP already). Throws `RateLimitedError` (429),
   * which refuses the request before any GraphQL work.
   */
  afterAuthentication(req: IncomingMessage, context: C): Promise<void>;
  /** The `publicTracking` bucket, and the RateLimit headers of every bucket consumed after authentication. */
  plugin: ApolloServerPlugin<C>;
}

/** How many times the operation selects one of `fields` at its root (through fragments too). */
export function countRootFields(operation: OperationDefinitionNode, document: DocumentNode, fields: readonly string[]): number {
  if (operation.operation !== 'query') return 0;
  const fragments = new Map(document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d.selectionSet]));
  const seen = new Set<string>();
  const count = (set: SelectionSetNode): number => {
    let n = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) n += fields.includes(sel.name.value) ? 1 : 0;
      else if (sel.kind === Kind.INLINE_FRAGMENT) n += count(sel.selectionSet);
      else if (!seen.has(sel.name.value)) {
        // Validation already refused fragment cycles; `seen` only guards against them anyway.
        seen.add(sel.name.value);
        const frag = fragments.get(sel.name.value);
        if (frag) n += count(frag);
      }
    }
    return n;
  };
  return count(operation.selectionSet);
}

/**
 * Per request: the client address and the decisions taken after
 * authentication, kept on the context under a symbol. (Not a WeakMap keyed
 * by the context: Apollo hands plugins a shallow copy of it, which keeps
 * this property and so shares the same state object.)
 */
const STATE = Symbol('rateLimitState');
interface RequestState {
  ip: string;
  decisions: RateLimitDecision[];
}

export function createGatewayRateLimiting<C extends { principal: Principal }>(opts: GatewayRateLimitingOptions): GatewayRateLimiting<C> {
  const { limits, clientIp } = opts;
  const trackingFields = opts.publicTrackingFields ?? ['trackShipment'];
  const stateOf = (ctx: object): RequestState => (ctx as { [STATE]?: RequestState })[STATE] ?? { ip: 'unknown', decisions: [] };

  return {
    ipLimit: async (req, res) => {
      if (!limits.enabled) return false;
      const d = await limits.enforce('ip', clientIp(req));
      appendRateLimitHeaders(res, d);
      return false;
    },

    async afterAuthentication(req, context) {
      const state: RequestState = { ip: clientIp(req), decisions: [] };
      (context as { [STATE]?: RequestState })[STATE] = state;
      const p = context.principal;
      if (!limits.enabled || p.kind !== 'user') return;
      state.decisions.push(await limits.enforce('principal', `${p.tenantId}/${p.id}`));
      state.decisions.push(await limits.enforce('tenant', p.tenantId));
    },

    plugin: {
      async requestDidStart() {
        return {
          // Runs after validation, before execution. Returning a response skips execution: that is the refusal.
          async responseForOperation(rc) {
            if (!limits.enabled || !rc.operation) return null;
            const n = countRootFields(rc.operation, rc.document, trackingFields);
            if (n === 0) return null;
            const state = stateOf(rc.contextValue);
            const d = await limits.consume('publicTracking', state.ip, n);
            state.decisions.push(d);
            if (d.allowed) return null;
            const headers = new HeaderMap([['retry-after', String(d.resetSeconds)]]);
            return { http: { status: 429, headers }, body: { kind: 'single' as const, singleResult: refusalBody(d) } };
          },
          // Runs before the response is written: lib/http.ts appends these list headers to the `ip` bucket's.
          async willSendResponse(rc) {
            const { decisions } = stateOf(rc.contextValue);
            if (decisions.length === 0) return;
            rc.response.http.headers.set('ratelimit-policy', decisions.map(policyItem).join(', '));
            rc.response.http.headers.set('ratelimit', decisions.map(limitItem).join(', '));
          },
        };
      },
    },
  };
}
