/**
 * Defence in depth at the gateway: the equivalent of Federation's
 * `@authenticated` and `@requiresScopes`, which @apollo/gateway cannot load
 * (schema/README.md). Before any subgraph is called, the operation's
 * selection set is walked against the guards of the subgraph SDLs:
 *
 * - an anonymous caller selecting any field that is not `@public` (and not
 *   a field of a contained value type under a public field) → UNAUTHENTICATED;
 * - a caller lacking every role of an `@auth`, or every scope of a `@scope`,
 *   of a selected field or of its type → FORBIDDEN.
 *
 * Policies need the data and stay with the subgraphs, which check
 * everything again. Introspection fields (`__typename`, `__schema`,
 * `__type`) are left alone; whether introspection is allowed is decided
 * elsewhere. Fields skipped by `@skip`/`@include` are not checked.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  getDirectiveValues,
  getNamedType,
  getVariableValues,
  isAbstractType,
  isInterfaceType,
  isObjectType,
} from 'graphql';
import { type Guard, SUBGRAPH_NAMES, loadSubgraphTypeDefs } from '../../schema';
import type { Principal } from '../context';
import { AccessDeniedError, RefusalCode, refusal } from './errors';
import { analyseGuards, guardSignature } from './guards';

/** What the gateway knows about one supergraph field: the guards of every subgraph that resolves it. */
export type GatewayGuardIndex = ReadonlyMap<string, readonly Guard[]>;

export interface GatewayGuardOptions {
  /**
   * The subgraph SDLs to read guards from.
   * @default the four subgraphs of schema/ (`loadSubgraphTypeDefs`)
   */
  typeDefs?: readonly DocumentNode[];
}

/**
 * Maps `Type.field` of the supergraph to the guards that apply to it: the
 * type guard and the field's own guard, from every subgraph that resolves
 * the field (`@external` definitions do not resolve it). A field resolved by
 * several subgraphs must satisfy all of them: the planner may pick any.
 */
export function buildGatewayGuardIndex(typeDefs: readonly DocumentNode[] = SUBGRAPH_NAMES.map((n) => loadSubgraphTypeDefs(n))): GatewayGuardIndex {
  const index = new Map<string, Guard[]>();
  for (const doc of typeDefs) {
    for (const field of analyseGuards(doc).fields.values()) {
      if (field.external || field.kind === 'plumbing') continue;
      const layers = index.get(field.coordinate) ?? [];
      const seen = new Set(layers.map((g) => guardSignature([g])));
      // An uncovered field is denied by its subgraph; refuse it here too.
      const own = field.kind === 'uncovered' ? [DENY] : field.layers;
      for (const g of own) if (!seen.has(guardSignature([g]))) layers.push(g);
      index.set(field.coordinate, layers);
    }
  }
  return index;
}

// Admits nobody but system principals: no role matches an empty list of roles.
const DENY: Guard = { roles: [], scopes: undefined, policies: [], isPublic: false };

/**
 * The refusal for `principal` running `operation`, or undefined when the
 * gateway lets it through. `variables` are the request's raw variables
 * (for `@skip`/`@include`).
 */
export function checkOperation(
  schema: GraphQLSchema,
  index: GatewayGuardIndex,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  principal: Principal,
  variables: Record<string, unknown> = {},
): AccessDeniedError | undefined {
  if (principal.kind === 'system') return undefined;
  const root = schema.getRootType(operation.operation);
  if (!root) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  const vars = coerced.coerced ?? variables;

  let refused: AccessDeniedError | undefined;
  // Each (fragment, parent type) once: fragments can be spread many times, and cycles are possible before validation.
  const visited = new Set<string>();

  const included = (node: { readonly directives?: readonly DirectiveNode[] }): boolean => {
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node, vars)?.if === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node, vars)?.if === false) return false;
    } catch {
      // An unusable variable: check the field anyway.
    }
    return true;
  };

  const check = (coordinate: string): AccessDeniedError | undefined => {
    const layers = index.get(coordinate);
    // A field no subgraph SDL declares: the index is out of date; refuse rather than guess.
    if (!layers) return refusal(principal.kind === 'anonymous' ? RefusalCode.UNAUTHENTICATED : RefusalCode.FORBIDDEN);
    if (layers.length === 0 || layers.every((g) => g.isPublic)) return undefined;
    if (principal.kind !== 'user') return refusal(RefusalCode.UNAUTHENTICATED);
    for (const g of layers) {
      if (g.roles && !g.roles.some((r) => principal.roles.includes(r))) return refusal(RefusalCode.FORBIDDEN);
      if (g.scopes && !g.scopes.some((s) => principal.scopes.includes(s))) return refusal(RefusalCode.FORBIDDEN);
    }
    return undefined;
  };

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLNamedType): void => {
    for (const selection of selectionSet.selections) {
      if (refused) return;
      if (!included(selection)) continue;
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          // On an interface or union, the field is resolved by one of its object types: each must admit the caller.
          const owners = isAbstractType(parent) ? schema.getPossibleTypes(parent) : isObjectType(parent) ? [parent] : [];
          for (const owner of owners) {
            const field = owner.getFields()[name];
            if (!field) continue;
            refused = check(`${owner.name}.${name}`);
            if (refused) return;
          }
          const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
          if (field && selection.selectionSet) walk(selection.selectionSet, getNamedType(field.type));
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (type) walk(selection.selectionSet, type);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const fragment = fragments.get(selection.name.value);
          if (!fragment) continue;
          const type = schema.getType(fragment.typeCondition.name.value);
          const key = `${fragment.name.value}@${parent.name}`;
          if (!type || visited.has(key)) continue;
          visited.add(key);
          walk(fragment.selectionSet, type);
          break;
        }
        default:
          break;
      }
    }
  };
  walk(operation.selectionSet, root);
  return refused;
}

/**
 * The Apollo Server plugin. `didResolveOperation` runs after validation and
 * before the gateway plans or calls any subgraph; throwing there ends the
 * request with that error and no data.
 */
export function gatewayGuardPlugin<C extends { principal: Principal }>(options: GatewayGuardOptions = {}): ApolloServerPlugin<C> {
  const index = buildGatewayGuardIndex(options.typeDefs);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, document, operation, request, schema }) {
          if (!operation) return;
          const refused = checkOperation(schema, index, document, operation, contextValue.principal, request.variables ?? {});
          // 200 like any other GraphQL error response (Apollo would answer 500 for an error thrown here).
          if (refused) throw new AccessDeniedError(refused.code, { http: { status: 200 } });
        },
      };
    },
  };
}
