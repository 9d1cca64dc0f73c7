/**
 * Trusted documents at the gateway. A client names its app with the
 * `apollographql-client-name` header, unless its token binds it to one
 * (a `clientApp` on the principal, or a subject type mapped to an app):
 *
 * - a registered app sends `{ extensions: { persistedQuery: { version: 1,
 *   sha256Hash } } }`; the hash is looked up in *its* manifest and the
 *   document runs as if sent in full (any environment);
 * - while enforcing (production), a registered app may run nothing else:
 *   an unknown hash → TRUSTED_DOCUMENT_NOT_FOUND, any other document →
 *   TRUSTED_DOCUMENT_REQUIRED; a client that is not registered may send
 *   any operation only if it is on the open list;
 * - not enforcing (development, staging), everything else falls through to
 *   Apollo's automatic persisted queries (APQ), which production turns off.
 */
import type { GraphQLRequest } from '@apollo/server';
import type { Principal } from '../../lib/context';
import { LimitCode, type LimitCodeValue } from '../../lib/limits';
import type { SubjectType } from '../../lib/limits/settings';
import type { TrustedDocumentStore } from '../../lib/trusted-documents';

export interface TrustedDocumentsOptions {
  store: TrustedDocumentStore;
  /** Registered apps run only their documents; clients off `openClients` run none. @default false */
  enforce?: boolean;
  /** Clients that may send any operation while enforcing; '*' = every unregistered client. @default '*' */
  openClients?: '*' | readonly string[];
  /** Subject types always acting as one app (a device token is the driver app). @default {} */
  appBySubjectType?: Partial<Record<SubjectType, string>>;
  /** @default 'apollographql-client-name' */
  clientNameHeader?: string;
}

/**
 * A document that parses, validates and plans without calling anything:
 * stands in for a refused hash so the refusal can be raised where Apollo
 * turns a thrown error into a response (`didResolveOperation`); a throw
 * before parsing would escape as an HTTP 500.
 */
export const REFUSED_DOCUMENT = '{ __typename }';

export interface TrustedDocumentsDecision {
  /** The app the client acts as, if it named or is bound to one. */
  app?: string;
  /** The request now runs a document from the app's manifest. */
  trusted: boolean;
  /** Raise this in `didResolveOperation`. */
  refusal?: LimitCodeValue;
}

/** The app `principal` is bound to by its token, if any. */
function boundApp(principal: Principal | undefined, bySubject: Partial<Record<SubjectType, string>>): string | undefined {
  if (!principal || principal.kind !== 'user') return undefined;
  const claimed = (principal as { clientApp?: unknown }).clientApp;
  if (typeof claimed === 'string' && claimed) return claimed;
  return bySubject[principal.subjectType ?? 'user'];
}

export interface TrustedDocumentsGate {
  /**
   * Runs first in `requestDidStart`, before Apollo reads the query: swaps a
   * registered app's hash for its document (or for `REFUSED_DOCUMENT`).
   * Never throws.
   */
  resolve(request: GraphQLRequest, principal: Principal | undefined): TrustedDocumentsDecision;
  /** After validation: the refusal for the document that is about to run, if any. */
  check(decision: TrustedDocumentsDecision, source: string | undefined): LimitCodeValue | undefined;
}

export function trustedDocumentsGate(opts: TrustedDocumentsOptions): TrustedDocumentsGate {
  const header = opts.clientNameHeader ?? 'apollographql-client-name';
  const enforce = opts.enforce ?? false;
  const open = opts.openClients ?? '*';
  const bySubject = opts.appBySubjectType ?? {};
  const isOpen = (client: string | undefined): boolean => open === '*' || (client !== undefined && open.includes(client));

  return {
    resolve(request, principal) {
      const app = boundApp(principal, bySubject) ?? request.http?.headers.get(header)?.trim() ?? undefined;
      const decision: TrustedDocumentsDecision = { app: app || undefined, trusted: false };
      const pq = request.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
      if (!opts.store.isRegistered(decision.app) || !pq || typeof pq.sha256Hash !== 'string' || pq.version !== 1) return decision;
      const dropHash = (): void => {
        const { persistedQuery: _pq, ...rest } = request.extensions ?? {};
        request.extensions = rest;
      };
      if (request.query !== undefined) {
        // A full document with its hash (an APQ registration): while enforcing, the check after validation decides, not APQ.
        if (enforce) dropHash();
        return decision;
      }
      const body = opts.store.get(decision.app, pq.sha256Hash);
      if (body === undefined && !enforce) return decision; // APQ may know it
      dropHash();
      if (body === undefined) {
        request.query = REFUSED_DOCUMENT;
        decision.refusal = LimitCode.TRUSTED_DOCUMENT_NOT_FOUND;
      } else {
        request.query = body;
        decision.trusted = true;
      }
      return decision;
    },

    check(decision, source) {
      if (decision.refusal) return decision.refusal;
      if (!enforce || decision.trusted) return undefined;
      if (opts.store.isRegistered(decision.app)) return source !== undefined && opts.store.trusts(decision.app, source) ? undefined : LimitCode.TRUSTED_DOCUMENT_REQUIRED;
      return isOpen(decision.app) ? undefined : LimitCode.TRUSTED_DOCUMENT_REQUIRED;
    },
  };
}
