/**
 * Compiles the security directives of a subgraph's SDL into a graphql-shield
 * rule map, checks that every field has a rule, and applies the map to the
 * executable schema. The only place the subgraphs enforce `@auth`, `@scope`,
 * `@policy` and `@public`.
 *
 * Refusals are uniform: an anonymous caller gets UNAUTHENTICATED, anyone
 * else FORBIDDEN ("Forbidden"), whichever rule refused. The one exception is
 * `recentMfa`, checked last so that it never speaks to a caller another
 * check would refuse anyway: MFA_REQUIRED or STEP_UP_REQUIRED tell the
 * caller how to get in. Errors raised by resolvers pass through with their
 * own codes (`allowExternalErrors`).
 */
import type { DocumentNode, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { isIntrospectionType, isObjectType } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { type IRule, type IRules, allow, deny, rule, shield } from 'graphql-shield';
import type { Guard, PolicyName } from '../../schema';
import { type AccessDeniedError, RefusalCode, refusal } from './errors';
import { FEDERATION_PLUMBING, analyseGuards, guardSignature } from './guards';
import { OBJECT_POLICIES, type Policy, type PolicyContext, type PolicyOptions, createPolicies } from './policies';

/** Options of the compiled rules: the policies' options (operator tenant, step-up window, clock). */
export type RuleOptions = PolicyOptions;

/** Boot refused: some fields have no rule. `uncovered` lists them as `Type.field`. */
export class RuleCoverageError extends Error {
  constructor(readonly uncovered: readonly string[]) {
    super(`Authorization rule coverage is not 100 %: ${uncovered.length} field(s) without a rule: ${uncovered.join(', ')}`);
    this.name = 'RuleCoverageError';
  }
}

/**
 * `Type.field` of every field of `typeDefs` with no applicable rule (own
 * guard, type guard, reached through an allowed path, or federation
 * plumbing). Empty means coverage is 100 %.
 */
export function checkCoverage(typeDefs: DocumentNode): string[] {
  return [...analyseGuards(typeDefs).uncovered];
}

/**
 * The graphql-shield rule map for `typeDefs`: one rule per field, shared
 * between fields with the same guards (the rule's name is its signature,
 * which is also graphql-shield's per-request cache key). Rules that read
 * only the caller and the clock are cached per request (`contextual`);
 * rules whose policies read the object or the arguments are not.
 * Uncovered fields get no entry: `fallbackRule: deny` refuses them.
 */
export function compileRules(typeDefs: DocumentNode, options: RuleOptions = {}): IRules {
  const guards = analyseGuards(typeDefs);
  const policies = createPolicies(options);
  const now = options.now ?? (() => new Date());
  const rules = new Map<string, ShieldRule>();
  const map: Record<string, Record<string, ShieldRule>> = {};
  for (const field of guards.fields.values()) {
    if (field.kind === 'uncovered') continue;
    const signature = guardSignature(field.layers);
    let compiled = rules.get(signature);
    if (!compiled) {
      compiled = compileLayers(signature, field.layers, policies, now);
      rules.set(signature, compiled);
    }
    (map[field.typeName] ??= {})[field.fieldName] = compiled;
  }
  return map as IRules;
}

/**
 * Applies the rules of `typeDefs` to `schema` (built from the same SDL,
 * e.g. by `buildSubgraphSchema`). Throws {@link RuleCoverageError} when a
 * field of the SDL or of the schema has no rule: the server must not start.
 */
export function applyRules(schema: GraphQLSchema, typeDefs: DocumentNode, options: RuleOptions = {}): GraphQLSchema {
  const uncovered = checkCoverage(typeDefs);
  const map = compileRules(typeDefs, options) as Record<string, Record<string, ShieldRule>>;
  const typeMap = schema.getTypeMap();
  // Plumbing of a schema that is not a subgraph does not exist; shield refuses rules for absent fields.
  for (const [typeName, fields] of Object.entries(FEDERATION_PLUMBING)) {
    const type = typeMap[typeName];
    for (const fieldName of fields) {
      if (!isObjectType(type) || !type.getFields()[fieldName]) delete map[typeName]?.[fieldName];
    }
    if (map[typeName] && Object.keys(map[typeName]).length === 0) delete map[typeName];
  }
  // Fields the executable schema has and the SDL does not (added by code) have no rule either.
  for (const type of Object.values(typeMap)) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const fieldName of Object.keys(type.getFields())) {
      const coordinate = `${type.name}.${fieldName}`;
      if (!map[type.name]?.[fieldName] && !uncovered.includes(coordinate)) uncovered.push(coordinate);
    }
  }
  if (uncovered.length > 0) throw new RuleCoverageError(uncovered);
  const permissions = shield(map as IRules, {
    fallbackRule: deny,
    // Errors raised by resolvers keep their codes; only authorization refusals are ours.
    allowExternalErrors: true,
    debug: false,
    // A rule that returned false or threw.
    fallbackError: (_err: unknown, _parent: unknown, _args: unknown, ctx: unknown) => refusalFor(ctx as PolicyContext | undefined, RefusalCode.FORBIDDEN),
  } as never);
  const guarded = applyMiddleware(schema, permissions);
  // graphql-shield wraps every field in an async middleware (a few µs per resolved value, about doubling the
  // execution time of a list of shipments). A field whose rule is `allow` gets its own resolver back: same decision, no cost.
  for (const [typeName, fields] of Object.entries(map)) {
    const original = typeMap[typeName];
    const wrapped = guarded.getType(typeName);
    if (!isObjectType(original) || !isObjectType(wrapped)) continue;
    for (const [fieldName, fieldRule] of Object.entries(fields)) {
      if (fieldRule !== allow) continue;
      wrapped.getFields()[fieldName].resolve = original.getFields()[fieldName].resolve;
    }
  }
  return guarded;
}

type PolicyMap = Record<PolicyName, Policy>;
/** A compiled field rule: ours, or graphql-shield's `allow`. */
type ShieldRule = IRule | typeof allow;

function compileLayers(signature: string, layers: readonly Guard[], policies: PolicyMap, now: () => Date): ShieldRule {
  if (layers.length === 0 || layers.every((g) => g.isPublic)) return allow;
  const roleLists = layers.flatMap((g) => (g.roles ? [g.roles] : []));
  const scopeLists = layers.flatMap((g) => (g.scopes ? [g.scopes] : []));
  // recentMfa last: its specific codes must not reveal anything to a caller another check refuses.
  const names = [...new Set(layers.flatMap((g) => g.policies as PolicyName[]))].sort((a, b) => Number(a === 'recentMfa') - Number(b === 'recentMfa'));
  const readsObject = names.some((n) => OBJECT_POLICIES.has(n));
  return rule(signature, { cache: readsObject ? 'no_cache' : 'contextual' })(
    (parent: unknown, args: Record<string, unknown>, ctx: PolicyContext, _info: GraphQLResolveInfo): true | AccessDeniedError => {
      const principal = ctx?.principal;
      if (!principal || principal.kind === 'anonymous') return refusal(RefusalCode.UNAUTHENTICATED);
      if (principal.kind === 'system') return true;
      if (principal.kind !== 'user') return refusal(RefusalCode.FORBIDDEN);
      for (const roles of roleLists) if (!roles.some((r) => principal.roles.includes(r))) return refusal(RefusalCode.FORBIDDEN);
      for (const scopes of scopeLists) if (!scopes.some((s) => principal.scopes.includes(s))) return refusal(RefusalCode.FORBIDDEN);
      const at = now();
      for (const name of names) {
        const outcome = policies[name](ctx, parent, args ?? {}, at, roleLists);
        if (outcome === true) continue;
        if (outcome === 'MFA_REQUIRED') return refusal(RefusalCode.MFA_REQUIRED);
        if (outcome === 'STEP_UP_REQUIRED') return refusal(RefusalCode.STEP_UP_REQUIRED);
        return refusal(RefusalCode.FORBIDDEN);
      }
      return true;
    },
  );
}

function refusalFor(ctx: PolicyContext | undefined, code: typeof RefusalCode.FORBIDDEN): AccessDeniedError {
  const principal = ctx?.principal;
  return refusal(!principal || principal.kind === 'anonymous' ? RefusalCode.UNAUTHENTICATED : code);
}
