/**
 * Just-in-time elevation decisions take effect on the requester's very next
 * request. The gateway caches each person's status answer, which carries
 * their active elevations, for a few seconds (principal-status.ts); when a
 * mutation operation that decides an elevation (`approveElevation`,
 * `denyElevation`) passes through this gateway, it forgets the answers
 * about the people of the deciding caller's tenant before the response
 * leaves (`willSendResponse`). Elevations are decided within one tenant
 * only, so that covers the requester, without depending on which fields
 * the client selected or on a hint from identity; a decision is rare, so
 * the cost is one status question per active person of the tenant.
 *
 * Other gateway instances do not see the mutation: they catch up when their
 * cached answer expires (PRINCIPAL_STATUS_CACHE_MS, 5 s by default).
 * An expiry needs nothing: answers are never reused beyond the first
 * elevation's end (`elevationExpiresAt`).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { RequestContext } from '../lib/context';
import type { PrincipalStatusCheck } from './principal-status';

/** Root mutation fields that change a person's active elevations. */
export const ELEVATION_DECISIONS: ReadonlySet<string> = new Set(['approveElevation', 'denyElevation']);

export function elevationDecisionPlugin<Ctx extends RequestContext>(status: Pick<PrincipalStatusCheck, 'invalidateTenant'>): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, document, contextValue }) {
          // Refused before execution (no operation, not a mutation) or anonymous: nothing was decided.
          if (operation?.operation !== 'mutation' || contextValue.principal.kind !== 'user') return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const d of document?.definitions ?? []) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
          // Forgetting too often costs a status question; forgetting too rarely costs up to the cache lifetime.
          if (selectsRootField(operation.selectionSet, fragments, ELEVATION_DECISIONS)) status.invalidateTenant(contextValue.principal.tenantId);
        },
      };
    },
  };
}

/** True when the root selection set (through inline fragments and fragment spreads) selects one of `names`. */
function selectsRootField(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, names: ReadonlySet<string>, seen = new Set<string>()): boolean {
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD && names.has(s.name.value)) return true;
    if (s.kind === Kind.INLINE_FRAGMENT && selectsRootField(s.selectionSet, fragments, names, seen)) return true;
    if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value);
      const f = fragments.get(s.name.value);
      if (f && selectsRootField(f.selectionSet, fragments, names, seen)) return true;
    }
  }
  return false;
}
