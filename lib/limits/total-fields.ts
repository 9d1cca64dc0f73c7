/**
 * A validation rule graphql-armor lacks: a cap on the total number of field
 * selections in an operation. Each fragment is counted once per spread
 * (memoised, so a fragment "bomb" — fragments spreading fragments many
 * times — is counted exactly without being expanded), `__typename`
 * included: 500 × `__typename` is 500 fields.
 */
import { type ASTVisitor, Kind, type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import { LimitCode, LimitReason, limitValidationError } from './errors';

/** Field selections in `operation`, fragments expanded; cycles (refused by graphql's own validation) count 0. */
export function countFields(operation: OperationDefinitionNode, getFragment: ValidationContext['getFragment']): number {
  const memo = new Map<string, number>();
  const inProgress = new Set<string>();
  const count = (set: SelectionSetNode): number => {
    let n = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) n += 1 + (sel.selectionSet ? count(sel.selectionSet) : 0);
      else if (sel.kind === Kind.INLINE_FRAGMENT) n += count(sel.selectionSet);
      else {
        const name = sel.name.value;
        if (!memo.has(name)) {
          const fragment = getFragment(name);
          if (!fragment || inProgress.has(name)) continue;
          inProgress.add(name);
          memo.set(name, count(fragment.selectionSet));
          inProgress.delete(name);
        }
        n += memo.get(name)!;
      }
      // Saturate: the exact size of an absurd operation does not matter.
      if (n > Number.MAX_SAFE_INTEGER / 2) return Number.MAX_SAFE_INTEGER / 2;
    }
    return n;
  };
  return count(operation.selectionSet);
}

/** Refuses an operation with more than `max` field selections: QUERY_TOO_COMPLEX, reason TOO_MANY_FIELDS. */
export function maxFieldsRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const found = countFields(operation, (name) => context.getFragment(name));
      if (found > max) context.reportError(limitValidationError(LimitCode.QUERY_TOO_COMPLEX, { reason: LimitReason.TOO_MANY_FIELDS, limit: max, found }));
      return false;
    },
  });
}
