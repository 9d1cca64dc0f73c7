/**
 * `@length(max:, min:)` (schema/directives.graphql), enforced here and
 * nowhere else: every field whose arguments can carry a limited string gets
 * a check that runs before its resolver, on the arguments as GraphQL
 * coerced them (literals and variables alike), walking input objects and
 * lists. A string over `max` (or under `min`) refuses the field with
 * BAD_USER_INPUT, `reason` TOO_LONG (TOO_SHORT), `argument` (the path from
 * the argument, e.g. `input.recipient.name` or `input.parcels.0.barcode`)
 * and `max` (`min`). The message names the path and the limit, never the
 * value.
 *
 * The rule the schema test enforces: every `String` argument and input
 * field carries `@length`. `ID` values need none: each is capped at
 * {@link MAX_ID_LENGTH} here. Custom scalars bound their own length
 * (scalars.ts). Lengths count UTF-16 code units, as JavaScript's `length`
 * does (an emoji counts 2), on the raw value before any trimming.
 *
 * Runs after authorization: graphql-shield (lib/policy) wraps the checked
 * resolvers, so a caller who may not use a field never learns its limits.
 */
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  GraphQLID,
  defaultFieldResolver,
  getNamedType,
  isInputObjectType,
  isIntrospectionType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type ConstDirectiveNode,
} from 'graphql';
import { BadUserInputError } from '../errors';

/** Longest `ID` any argument or input field takes (and any `_entities` representation, lib/caller.ts). */
export const MAX_ID_LENGTH = 128;

/** A `@length` applied to an argument or input field. */
export interface LengthLimit {
  max: number;
  min?: number;
}

/** A string outside its `@length` (or an `ID` over {@link MAX_ID_LENGTH}). Never echoes the value. */
export class LengthLimitError extends BadUserInputError {
  static readonly TOO_LONG = 'TOO_LONG';
  static readonly TOO_SHORT = 'TOO_SHORT';
  constructor(argument: string, limit: { max: number } | { min: number }) {
    super(
      'max' in limit ? `${argument} must be at most ${limit.max} characters` : `${argument} must be at least ${limit.min} characters`,
      'max' in limit ? { reason: LengthLimitError.TOO_LONG, argument, max: limit.max } : { reason: LengthLimitError.TOO_SHORT, argument, min: limit.min },
    );
  }
}

const DIRECTIVE = 'length';

/** The `@length` on an argument's or input field's definition, if any. */
export function readLength(node: { readonly astNode?: { readonly directives?: readonly ConstDirectiveNode[] } | null } | undefined): LengthLimit | undefined {
  const directive = node?.astNode?.directives?.find((d) => d.name.value === DIRECTIVE);
  if (!directive) return undefined;
  const arg = (name: string) => {
    const v = directive.arguments?.find((a) => a.name.value === name)?.value;
    return v && v.kind === Kind.INT ? Number(v.value) : undefined;
  };
  const max = arg('max');
  if (max === undefined) throw new Error('@length needs max');
  const min = arg('min');
  if (max < 0 || (min !== undefined && (min < 0 || min > max))) throw new Error(`@length(min: ${min}, max: ${max}) is not a range`);
  return min === undefined ? { max } : { max, min };
}

/** Checks a coerced value at `path`; throws LengthLimitError. */
type Check = (value: unknown, path: string) => void;

function stringCheck(limit: LengthLimit): Check {
  return (value, path) => {
    if (typeof value !== 'string') return;
    if (value.length > limit.max) throw new LengthLimitError(path, { max: limit.max });
    if (limit.min !== undefined && value.length < limit.min) throw new LengthLimitError(path, { min: limit.min });
  };
}

const ID_CHECK = stringCheck({ max: MAX_ID_LENGTH });

/**
 * Compiles the checks of a schema once: per input object type (memoised,
 * recursion-safe) and per position. `undefined` means nothing to check.
 */
class Compiler {
  private readonly inputs = new Map<string, Check | undefined>();

  position(type: GraphQLInputType, limit: LengthLimit | undefined): Check | undefined {
    if (isNonNullType(type)) return this.position(type.ofType, limit);
    if (isListType(type)) {
      const item = this.position(type.ofType, limit);
      if (!item) return undefined;
      return (value, path) => {
        if (!Array.isArray(value)) return item(value, path);
        value.forEach((v, i) => item(v, `${path}.${i}`));
      };
    }
    if (limit) return stringCheck(limit);
    if (isScalarType(type)) return type.name === GraphQLID.name ? ID_CHECK : undefined;
    if (isInputObjectType(type)) return this.inputObject(type.name, () => type.getFields());
    return undefined;
  }

  private inputObject(name: string, fields: () => Record<string, GraphQLInputField>): Check | undefined {
    if (this.inputs.has(name)) {
      // Still compiling (a recursive input type): defer to the finished check.
      return this.inputs.get(name) ?? ((value, path) => this.inputs.get(name)?.(value, path));
    }
    this.inputs.set(name, undefined);
    const checks = Object.values(fields()).flatMap((f) => {
      const check = this.position(f.type, readLength(f));
      return check ? [[f.name, check] as const] : [];
    });
    const check: Check | undefined = checks.length
      ? (value, path) => {
          if (!value || typeof value !== 'object') return;
          for (const [field, c] of checks) {
            const v = (value as Record<string, unknown>)[field];
            if (v !== null && v !== undefined) c(v, `${path}.${field}`);
          }
        }
      : undefined;
    this.inputs.set(name, check);
    return check;
  }

  args(args: readonly GraphQLArgument[]): Array<readonly [string, Check]> {
    return args.flatMap((a) => {
      const check = this.position(a.type, readLength(a));
      return check ? [[a.name, check] as const] : [];
    });
  }
}

/** Federation's own fields: `_entities` representations are checked by `representationField` (lib/caller.ts). */
const SKIPPED_FIELDS = new Set(['_entities', '_service']);

/**
 * Wraps the resolver of every field with a limited argument (in place) and
 * returns the schema. Call it before the authorization rules are applied,
 * so they run first.
 *
 * @throws Error at boot for a malformed `@length` (no `max`, `min` above `max`)
 */
export function applyLengthLimits(schema: GraphQLSchema): GraphQLSchema {
  const compiler = new Compiler();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>) {
      if (SKIPPED_FIELDS.has(field.name) || !field.args.length) continue;
      const checks = compiler.args(field.args);
      if (!checks.length) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args: Record<string, unknown>, context, info) => {
        for (const [name, check] of checks) {
          const value = args[name];
          if (value !== null && value !== undefined) check(value, name);
        }
        return resolve(source, args, context, info);
      };
    }
  }
  return schema;
}

/** Every argument and input field position of `schema` with its named type and `@length`, for the schema tests. */
export function inputPositions(schema: GraphQLSchema): Array<{ coordinate: string; typeName: string; limit: LengthLimit | undefined }> {
  const out: Array<{ coordinate: string; typeName: string; limit: LengthLimit | undefined }> = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type)) continue;
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (SKIPPED_FIELDS.has(field.name)) continue;
        for (const a of field.args) out.push({ coordinate: `${type.name}.${field.name}(${a.name}:)`, typeName: getNamedType(a.type).name, limit: readLength(a) });
      }
    } else if (isInputObjectType(type)) {
      for (const f of Object.values(type.getFields())) out.push({ coordinate: `${type.name}.${f.name}`, typeName: getNamedType(f.type).name, limit: readLength(f) });
    }
  }
  return out;
}
