/**
 * Root fields that deal with credentials or grant power (elevation
 * approval, secret rotation …) run at most once per request: never under an
 * alias, never twice in one operation, never inside a batch. That shuts
 * out brute force through aliases and batches (BatchQL: 10k PINs in one
 * request). The list is configuration; the platform's token, login and OTP
 * endpoints are plain HTTP routes, not GraphQL, and are limited there.
 */
import { type ASTVisitor, type FieldNode, Kind, type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import { LimitCode, LimitReason, type LimitReasonValue, limitValidationError } from './errors';

/**
 * The sensitive root fields today's schema has (any root type). Names not
 * in the schema are harmless, so fields still being built can be listed.
 */
export const DEFAULT_SENSITIVE_ROOT_FIELDS: readonly string[] = [
  'requestElevation',
  'approveElevation',
  'denyElevation',
  'revokeElevation',
  'createApiClient',
  'rotateApiClientSecret',
  'rotateClientSecret',
  'resetPassword',
  'changePassword',
  'verifyOtp',
  'enrollTotp',
  'verifyTotp',
];

/** The root-level field selections of `operation` (fragments and inline fragments at the root expanded). */
export function rootFields(operation: OperationDefinitionNode, getFragment: ValidationContext['getFragment']): FieldNode[] {
  const out: FieldNode[] = [];
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) out.push(sel);
      else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const fragment = getFragment(sel.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return out;
}

/** Why `operation` may not run, or undefined: a sensitive root field under an alias or selected more than once. */
export function sensitiveFieldProblem(operation: OperationDefinitionNode, sensitive: ReadonlySet<string>, getFragment: ValidationContext['getFragment']): LimitReasonValue | undefined {
  const counts = new Map<string, number>();
  for (const field of rootFields(operation, getFragment)) {
    const name = field.name.value;
    if (!sensitive.has(name)) continue;
    if (field.alias && field.alias.value !== name) return LimitReason.ALIASED;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const n of counts.values()) if (n > 1) return LimitReason.REPEATED;
  // Two different sensitive fields in one operation are a batch by another name.
  if (counts.size > 1) return LimitReason.REPEATED;
  return undefined;
}

/** True when `operation` selects any of the `sensitive` root fields. */
export function selectsSensitiveField(operation: OperationDefinitionNode, sensitive: ReadonlySet<string>, getFragment: ValidationContext['getFragment']): boolean {
  return rootFields(operation, getFragment).some((f) => sensitive.has(f.name.value));
}

/** Refuses aliased or repeated sensitive root fields: SENSITIVE_OPERATION_REFUSED, reason ALIASED or REPEATED. */
export function sensitiveFieldsRule(names: readonly string[]): ValidationRule {
  const sensitive = new Set(names);
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const reason = sensitiveFieldProblem(operation, sensitive, (n) => context.getFragment(n));
      if (reason) context.reportError(limitValidationError(LimitCode.SENSITIVE_OPERATION_REFUSED, { reason }));
      return false;
    },
  });
}
