/**
 * graphql-armor 3.2 with our limits and our codes. Each armor rejection is
 * reported to the validation context as a refusal with a stable code
 * (QUERY_TOO_DEEP, QUERY_TOO_COMPLEX + reason) and the numbers only, never
 * armor's own "Syntax Error: …" text. Choices that differ from armor's
 * defaults, and why:
 *
 * - depth: fragments are flattened (a fragment spread is not a level), and
 *   introspection counts where introspection is off (armor skips `__schema`
 *   by default, which lets graphql-cop's circular introspection through);
 * - aliases: `__typename` aliases count too (armor allows them by default:
 *   graphql-cop's alias overloading is 101 × `alias: __typename`);
 * - cost: armor's cost limit is off; lib/limits/cost.ts multiplies by list
 *   size per field and runs per request with the variables;
 * - suggestions: armor's mask leaves a stray "?" and misses enum-value
 *   suggestions, so the gateway's formatError strips them (staging and
 *   production) and armor's plugin is off;
 * - tokens: armor's Apollo plugin counts tokens in `parsingDidStart`, where
 *   a throw escapes Apollo's error handling (an HTTP 500); graphql-js's own
 *   `parseOptions.maxTokens` does the same inside the parser's try/catch
 *   (gateway/hardening), so armor's token plugin is off.
 */
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLError, ValidationContext, ValidationRule } from 'graphql';
import { LimitCode, type LimitCodeValue, LimitReason, type LimitReasonValue, limitValidationError } from './errors';
import type { QueryLimits } from './profiles';

/** Armor's configuration type (from its constructor: the types package is not a direct dependency). */
export type GraphQLArmorConfig = NonNullable<ConstructorParameters<typeof ApolloArmor>[0]>;

export interface ArmorOptions {
  limits: QueryLimits;
  /**
   * Count `__schema` subtrees towards the depth limit. On where
   * introspection is off; where admins may introspect, graphql-js's own
   * introspection depth rule bounds circular introspection instead (the
   * standard introspection query is deeper than graphql-cop's attack).
   * @default true
   */
  countIntrospectionDepth?: boolean;
}

/** `found N` in armor's rejection message, when it says so. */
function foundIn(err: GraphQLError): number | undefined {
  const m = /found (\d+)/.exec(err.message);
  return m ? Number(m[1]) : undefined;
}

function reporter(code: LimitCodeValue, reason: LimitReasonValue, limit: number) {
  return [
    (ctx: ValidationContext | null, err: GraphQLError) => {
      ctx?.reportError(limitValidationError(code, { reason, limit, found: foundIn(err) }));
    },
  ];
}

/** The armor configuration for `limits` (exported for the tests and the README). */
export function armorConfig({ limits, countIntrospectionDepth = true }: ArmorOptions): GraphQLArmorConfig {
  return {
    maxDepth: {
      n: limits.maxDepth,
      flattenFragments: true,
      ignoreIntrospection: !countIntrospectionDepth,
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: reporter(LimitCode.QUERY_TOO_DEEP, LimitReason.MAX_DEPTH, limits.maxDepth),
    },
    maxAliases: {
      n: limits.maxAliases,
      allowList: [],
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: reporter(LimitCode.QUERY_TOO_COMPLEX, LimitReason.TOO_MANY_ALIASES, limits.maxAliases),
    },
    maxDirectives: {
      n: limits.maxDirectives,
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: reporter(LimitCode.QUERY_TOO_COMPLEX, LimitReason.TOO_MANY_DIRECTIVES, limits.maxDirectives),
    },
    costLimit: { enabled: false },
    maxTokens: { enabled: false },
    // Off here: armor's mask leaves a stray "?" and misses "Did you mean the enum value …?"; the gateway's
    // formatError (gateway/hardening/errors.ts) removes every suggestion outside development instead.
    blockFieldSuggestion: { enabled: false },
  };
}

export interface ArmorProtection {
  validationRules: ValidationRule[];
  /** Apollo plugins of the enabled protections (none with our configuration). */
  plugins: ReturnType<ApolloArmor['protect']>['plugins'];
}

/** Armor's validation rules and plugins for Apollo Server (`new ApolloArmor(cfg).protect()`). */
export function armorProtection(options: ArmorOptions): ArmorProtection {
  const { validationRules, plugins } = new ApolloArmor(armorConfig(options)).protect();
  return { validationRules, plugins };
}
