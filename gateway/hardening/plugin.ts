/**
 * The hardening plugin: what needs the request (its variables, its caller,
 * its batch) and therefore cannot be a validation rule, whose result
 * Apollo caches per document. In `didResolveOperation` — after validation,
 * before the gateway plans or calls any subgraph; a throw there ends the
 * request with that error and no data — in this order:
 *
 * 1. trusted documents (TRUSTED_DOCUMENT_REQUIRED / _NOT_FOUND);
 * 2. batches: more operations than allowed (BATCH_TOO_LARGE), or a
 *    sensitive root field inside a batch (SENSITIVE_OPERATION_REFUSED);
 * 3. introspection for admins only, where so configured (staging);
 * 4. cost above the per-operation maximum (COST_LIMIT_EXCEEDED);
 * 5. the client's cost budget for the minute (QUOTA_EXCEEDED, 429 + Retry-After).
 *
 * Refusals come before spending, so a refused operation costs no budget.
 * The cost is computed once per operation and per values of the variables
 * it can depend on (its Int and Boolean variables: list sizes, `@skip`,
 * `@include`), not walked again on every request.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode, type TypeNode } from 'graphql';
import type { Principal } from '../../lib/context';
import { type CostBudget, type CostOptions, LimitCode, LimitError, LimitReason, type QueryLimits, budgetKey, estimateCost, selectsSensitiveField } from '../../lib/limits';
import { clientAddressOf } from './client';
import type { TrustedDocumentsGate } from './trusted-documents';

export interface HardeningPluginOptions {
  limits: QueryLimits;
  cost: CostOptions;
  /** Undefined: no budget. */
  budget?: CostBudget;
  gate: TrustedDocumentsGate;
  sensitiveRootFields: readonly string[];
  /** 'admins': `__schema`/`__type` only for `adminRoles` (staging); 'on'/'off' leave it to Apollo's `introspection`. */
  introspection: 'on' | 'admins' | 'off';
  adminRoles: readonly string[];
  /** Drop response-level `extensions` (tracing, debug) before sending. */
  scrubResponseExtensions: boolean;
}

/** True when the operation selects `__schema` or `__type` anywhere (fragments included). */
export function selectsIntrospection(operation: OperationDefinitionNode, document: DocumentNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode): boolean =>
    set.selections.some((sel) => {
      if (sel.kind === Kind.FIELD) return sel.name.value === '__schema' || sel.name.value === '__type' || (!!sel.selectionSet && walk(sel.selectionSet));
      if (sel.kind === Kind.INLINE_FRAGMENT) return walk(sel.selectionSet);
      if (seen.has(sel.name.value)) return false;
      seen.add(sel.name.value);
      const f = fragments.get(sel.name.value);
      return !!f && walk(f.selectionSet);
    });
  return walk(operation.selectionSet);
}

const bad = { status: 400 };

/** Costs remembered per operation (distinct values of its Int/Boolean variables); beyond this they are computed again. */
const COSTS_PER_OPERATION = 64;

const namedType = (t: TypeNode): string => (t.kind === Kind.NAMED_TYPE ? t.name.value : t.kind === Kind.NON_NULL_TYPE ? namedType(t.type) : '');

/**
 * `estimateCost`, remembered per schema and operation. The cost reads
 * variables only as list sizes (Int) and `@skip`/`@include` conditions
 * (Boolean): their values are the key; other variables (inputs, ids) do
 * not change it.
 */
function costCache(cost: CostOptions) {
  const byOperation = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, { names: string[]; costs: Map<string, number> }>>();
  return (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number => {
    let perSchema = byOperation.get(schema);
    if (!perSchema) byOperation.set(schema, (perSchema = new WeakMap()));
    let entry = perSchema.get(operation);
    if (!entry) {
      const names = (operation.variableDefinitions ?? []).filter((v) => ['Int', 'Boolean'].includes(namedType(v.type))).map((v) => v.variable.name.value);
      perSchema.set(operation, (entry = { names, costs: new Map() }));
    }
    // An absent variable (its default applies) is not the same as one given as null.
    const key = entry.names.length ? JSON.stringify(entry.names.map((n) => (Object.hasOwn(variables, n) ? variables[n] : '\u0000absent'))) : '';
    const known = entry.costs.get(key);
    if (known !== undefined) return known;
    const computed = estimateCost(schema, document, operation, variables, cost);
    if (entry.costs.size >= COSTS_PER_OPERATION) entry.costs.clear();
    entry.costs.set(key, computed);
    return computed;
  };
}

export function hardeningPlugin<C extends { principal: Principal }>(opts: HardeningPluginOptions): ApolloServerPlugin<C> {
  const sensitive = new Set(opts.sensitiveRootFields);
  // Operations per HTTP request, keyed by the response head all operations of one batch share.
  const batchSizes = new WeakMap<object, number>();
  const costOf = costCache(opts.cost);

  return {
    async requestDidStart(rc) {
      // Synchronous up to here on purpose: Apollo starts every operation of a batch before any of them
      // reaches didResolveOperation, so the count is complete when it is read there.
      const head = rc.response.http;
      batchSizes.set(head, (batchSizes.get(head) ?? 0) + 1);
      const decision = opts.gate.resolve(rc.request, rc.contextValue.principal);

      return {
        async didResolveOperation({ operation, document, schema, request, source, contextValue, requestIsBatched }) {
          const refusedDocument = opts.gate.check(decision, source);
          if (refusedDocument) throw new LimitError(refusedDocument, {}, bad);
          // No operation (an unknown operationName): Apollo refuses it next.
          if (!operation) return;

          const fragment = (name: string) => document.definitions.find((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === name);
          if (requestIsBatched) {
            const size = batchSizes.get(head) ?? 1;
            if (size > opts.limits.maxBatchSize) throw new LimitError(LimitCode.BATCH_TOO_LARGE, { limit: opts.limits.maxBatchSize, found: size }, bad);
            if (selectsSensitiveField(operation, sensitive, fragment)) throw new LimitError(LimitCode.SENSITIVE_OPERATION_REFUSED, { reason: LimitReason.BATCHED }, bad);
          }

          const principal = contextValue.principal;
          if (opts.introspection === 'admins' && selectsIntrospection(operation, document)) {
            const admin = principal.kind === 'system' || (principal.kind === 'user' && principal.roles.some((r) => opts.adminRoles.includes(r)));
            if (!admin) throw new LimitError(LimitCode.INTROSPECTION_DISABLED, {}, bad);
          }

          const cost = costOf(schema, document, operation, request.variables ?? {});
          if (cost > opts.limits.maxCost) throw new LimitError(LimitCode.COST_LIMIT_EXCEEDED, { cost, limit: opts.limits.maxCost }, bad);

          if (!opts.budget || cost <= 0 || principal.kind === 'system') return;
          const key = principal.kind === 'user' ? budgetKey(principal) : budgetKey({ kind: 'anonymous', ip: clientAddressOf(contextValue) ?? 'unknown' });
          const d = await opts.budget.spend(key, cost);
          if (d.allowed) return;
          const retryAfterSeconds = Math.max(1, Math.ceil(d.resetMs / 1000));
          throw new LimitError(
            LimitCode.QUOTA_EXCEEDED,
            { cost, budget: d.budget, remaining: Math.max(0, d.remaining), retryAfterSeconds },
            { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
          );
        },

        // Before the response is serialised: nothing but data and errors leaves in production.
        async willSendResponse({ response }) {
          if (opts.scrubResponseExtensions && response.body.kind === 'single') delete (response.body.singleResult as { extensions?: unknown }).extensions;
        },
      };
    },
  };
}
