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
 *
 * The plugin walks each operation once: the fields it selects are kept per
 * operation (Apollo hands the same parsed document to every request with
 * the same query), so a request only checks its caller against them.
 * Operations whose selection depends on `@skip`/`@include` are walked per
 * request, with that request's variables.
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
  return checkSelected(index, selectedFields(schema, document, operation, variables).coordinates, principal);
}

/** The refusal for `principal` of the first of `coordinates` it may not select, if any. */
function checkSelected(index: GatewayGuardIndex, coordinates: readonly string[], principal: Principal): AccessDeniedError | undefined {
  if (principal.kind === 'system') return undefined;
  for (const coordinate of coordinates) {
    const layers = index.get(coordinate);
    // A field no subgraph SDL declares: the index is out of date; refuse rather than guess.
    if (!layers) return refusal(principal.kind === 'anonymous' ? RefusalCode.UNAUTHENTICATED : RefusalCode.FORBIDDEN);
    if (layers.length === 0 || layers.every((g) => g.isPublic)) continue;
    if (principal.kind !== 'user') return refusal(RefusalCode.UNAUTHENTICATED);
    for (const g of layers) {
      if (g.roles && !g.roles.some((r) => principal.roles.includes(r))) return refusal(RefusalCode.FORBIDDEN);
      if (g.scopes && !g.scopes.some((s) => principal.scopes.includes(s))) return refusal(RefusalCode.FORBIDDEN);
    }
  }
  return undefined;
}

interface SelectedFields {
  /** `Type.field` of every selected field, each once, in the order the walk meets them (the first refusal wins). */
  coordinates: string[];
  /** Some selection carries `@skip`/`@include`: the fields depend on the variables. */
  conditional: boolean;
}

/** Walks `operation` once, fragments expanded, fields skipped by `@skip`/`@include` with `variables` left out. */
function selectedFields(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): SelectedFields {
  const coordinates = new Set<string>();
  let conditional = false;
  const root = schema.getRootType(operation.operation);
  if (!root) return { coordinates: [], conditional };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  let vars: Record<string, unknown> | undefined;
  // Each (fragment, parent type) once: fragments can be spread many times, and cycles are possible before validation.
  const visited = new Set<string>();

  const included = (node: { readonly directives?: readonly DirectiveNode[] }): boolean => {
    if (!node.directives?.some((d) => d.name.value === 'skip' || d.name.value === 'include')) return true;
    conditional = true;
    vars ??= getVariableValues(schema, operation.variableDefinitions ?? [], variables).coerced ?? variables;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node, vars)?.if === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node, vars)?.if === false) return false;
    } catch {
      // An unusable variable: check the field anyway.
    }
    return true;
  };

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLNamedType): void => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          // On an interface or union, the field is resolved by one of its object types: each must admit the caller.
          const owners = isAbstractType(parent) ? schema.getPossibleTypes(parent) : isObjectType(parent) ? [parent] : [];
          for (const owner of owners) {
            if (owner.getFields()[name]) coordinates.add(`${owner.name}.${name}`);
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
  return { coordinates: [...coordinates], conditional };
}

/**
 * The Apollo Server plugin. `didResolveOperation` runs after validation and
 * before the gateway plans or calls any subgraph; throwing there ends the
 * request with that error and no data.
 */
export function gatewayGuardPlugin<C extends { principal: Principal }>(options: GatewayGuardOptions = {}): ApolloServerPlugin<C> {
  const index = buildGatewayGuardIndex(options.typeDefs);
  // Per schema and operation: the fields it selects, unless they depend on the variables.
  const selected = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, readonly string[]>>();
  const fieldsOf = (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): readonly string[] => {
    let perSchema = selected.get(schema);
    if (!perSchema) selected.set(schema, (perSchema = new WeakMap()));
    const known = perSchema.get(operation);
    if (known) return known;
    const walked = selectedFields(schema, document, operation, variables);
    if (!walked.conditional) perSchema.set(operation, walked.coordinates);
    return walked.coordinates;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, document, operation, request, schema }) {
          if (!operation || contextValue.principal.kind === 'system') return;
          const refused = checkSelected(index, fieldsOf(schema, document, operation, request.variables ?? {}), contextValue.principal);
          // 200 like any other GraphQL error response (Apollo would answer 500 for an error thrown here).
          if (refused) throw new AccessDeniedError(refused.code, { http: { status: 200 } });
        },
      };
    },
  };
}
