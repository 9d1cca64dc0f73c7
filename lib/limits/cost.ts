/**
 * Static cost of an operation, in the spirit of Apollo's demand control
 * (`@cost`, `@listSize`): each object field costs 1, each scalar or enum
 * 0, each mutation root field 10, and a list multiplies the cost of its
 * items by its size. The size is the value of a slicing argument (`first`,
 * `last`, `limit` — a literal or a variable), else the argument's default,
 * else the field's assumed size, else a default. A field with a slicing
 * argument that returns a connection object sizes the connection's `edges`
 * and `nodes`. Nested lists multiply.
 *
 * Our SDL has no `@cost`/`@listSize` yet, so per-field costs come from a
 * map keyed by `Type.field` (cost-config.ts). On an abstract type, the
 * fragments for different object types are alternatives: the most
 * expensive one counts, not their sum.
 */
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  getDirectiveValues,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';

/** What `@cost` and `@listSize` would say about one field. */
export interface FieldCost {
  /** Cost of the field itself. @default 1 for object fields, 0 for scalars and enums, `mutationCost` for mutation root fields */
  cost?: number;
  listSize?: {
    /** Arguments whose value is the size (the largest given wins). @default CostOptions.slicingArguments */
    slicingArguments?: readonly string[];
    /** Size when no slicing argument has a value. @default CostOptions.defaultListSize */
    assumedSize?: number;
    /** For a field returning a connection object: its child lists the size applies to. @default ['edges', 'nodes'] */
    sizedFields?: readonly string[];
  };
}

/** Per-field costs keyed by schema coordinate, `Type.field`. */
export type CostMap = Readonly<Record<string, FieldCost>>;

export interface CostOptions {
  /** @default {} */
  costs?: CostMap;
  /** Size of a list nothing else sizes. @default 10 */
  defaultListSize?: number;
  /** @default ['first', 'last', 'limit'] */
  slicingArguments?: readonly string[];
  /** @default 10 */
  mutationCost?: number;
  /** @default 1 */
  objectCost?: number;
  /** @default 0 */
  scalarCost?: number;
}

const MAX = Number.MAX_SAFE_INTEGER;
const cap = (n: number): number => (n > MAX ? MAX : n);

interface Sizing {
  fields: readonly string[];
  size: number;
}

/**
 * The estimated cost of running `operation` of `document` with `variables`.
 * Work is linear in the operation's expanded size, which the field cap
 * bounds before this runs.
 */
export function estimateCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> = {}, options: CostOptions = {}): number {
  const costs = options.costs ?? {};
  const defaultListSize = options.defaultListSize ?? 10;
  const slicingDefaults = options.slicingArguments ?? ['first', 'last', 'limit'];
  const mutationCost = options.mutationCost ?? 10;
  const objectCost = options.objectCost ?? 1;
  const scalarCost = options.scalarCost ?? 0;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const variableDefaults = new Map<string, ValueNode>();
  for (const v of operation.variableDefinitions ?? []) if (v.defaultValue) variableDefaults.set(v.variable.name.value, v.defaultValue);

  const included = (node: { readonly directives?: FieldNode['directives'] }): boolean => {
    if (!node.directives?.length) return true;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false) return false;
    } catch {
      // An unusable variable: count the selection.
    }
    return true;
  };

  const intOf = (value: ValueNode | undefined): number | undefined => {
    if (!value) return undefined;
    if (value.kind === Kind.INT) return Number.parseInt(value.value, 10);
    if (value.kind === Kind.VARIABLE) {
      const given = variables[value.name.value];
      if (typeof given === 'number') return given;
      if (given === undefined) return intOf(variableDefaults.get(value.name.value));
    }
    return undefined;
  };

  /** The size a slicing argument gives `node`, or undefined. */
  const slicedSize = (node: FieldNode, argNames: readonly string[], argDefaults: ReadonlyMap<string, unknown>): number | undefined => {
    let size: number | undefined;
    for (const name of argNames) {
      const arg = node.arguments?.find((a) => a.name.value === name);
      const value = arg ? intOf(arg.value) : typeof argDefaults.get(name) === 'number' ? (argDefaults.get(name) as number) : undefined;
      if (value !== undefined && Number.isFinite(value)) size = Math.max(size ?? 0, value);
    }
    return size === undefined ? undefined : Math.max(0, size);
  };

  const stack = new Set<string>();

  const selectionSetCost = (set: SelectionSetNode, parent: GraphQLCompositeType, sizing: Sizing | undefined, isRoot: boolean): number => {
    let common = 0;
    const branches = new Map<string, number>();
    const addFragment = (typeName: string | undefined, inner: SelectionSetNode): void => {
      const type: GraphQLNamedType | undefined = typeName ? schema.getType(typeName) ?? undefined : parent;
      if (!type || !isCompositeType(type)) return;
      const c = selectionSetCost(inner, type, sizing, isRoot);
      // A fragment on the parent itself or on an abstract type applies to every object; one on an object type is an alternative.
      if (type === parent || isAbstractType(type) || !isAbstractType(parent)) common = cap(common + c);
      else branches.set(type.name, cap((branches.get(type.name) ?? 0) + c));
    };
    for (const sel of set.selections) {
      if (!included(sel)) continue;
      if (sel.kind === Kind.FIELD) common = cap(common + fieldCost(sel, parent, sizing, isRoot));
      else if (sel.kind === Kind.INLINE_FRAGMENT) addFragment(sel.typeCondition?.name.value, sel.selectionSet);
      else {
        const fragment = fragments.get(sel.name.value);
        if (!fragment || stack.has(fragment.name.value)) continue;
        stack.add(fragment.name.value);
        addFragment(fragment.typeCondition.name.value, fragment.selectionSet);
        stack.delete(fragment.name.value);
      }
    }
    return cap(common + Math.max(0, ...branches.values()));
  };

  const fieldCost = (node: FieldNode, parent: GraphQLCompositeType, sizing: Sizing | undefined, isRoot: boolean): number => {
    const name = node.name.value;
    if (name.startsWith('__')) return 0;
    if (!isObjectType(parent) && !isInterfaceType(parent)) return 0;
    const def = parent.getFields()[name];
    if (!def) return 0;
    const config = costs[`${parent.name}.${name}`] ?? {};
    const named = getNamedType(def.type);
    const composite = isCompositeType(named);
    const own = config.cost ?? (isRoot && parent === schema.getMutationType() ? mutationCost : composite ? objectCost : scalarCost);
    const argDefaults = new Map(def.args.map((a) => [a.name, a.defaultValue]));
    const argNames = config.listSize?.slicingArguments ?? slicingDefaults.filter((a) => argDefaults.has(a));
    const sliced = argNames.length ? slicedSize(node, argNames, argDefaults) : undefined;
    const unwrapped = isNonNullType(def.type) ? def.type.ofType : def.type;
    let childSizing: Sizing | undefined;
    let size = 1;
    if (isListType(unwrapped)) {
      size = sizing?.fields.includes(name) ? sizing.size : (sliced ?? config.listSize?.assumedSize ?? defaultListSize);
    } else if (composite && (sliced !== undefined || config.listSize)) {
      childSizing = { fields: config.listSize?.sizedFields ?? ['edges', 'nodes'], size: sliced ?? config.listSize?.assumedSize ?? defaultListSize };
    }
    const children = node.selectionSet && isCompositeType(named) ? selectionSetCost(node.selectionSet, named, childSizing, false) : 0;
    return cap(size * (own + children));
  };

  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  return selectionSetCost(operation.selectionSet, root, undefined, true);
}
