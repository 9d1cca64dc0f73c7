/**
 * How the verified principal travels from the gateway to the subgraphs.
 *
 * PLACEHOLDER until token verification lands (the access issue): the
 * gateway sends the principal as base64url JSON in `x-tracksafe-principal`,
 * unsigned. The access layer replaces this with a short-lived signed
 * internal token (audience = the subgraph) and subgraphs will refuse
 * requests without one. Only `encodePrincipal`/`principalFromRequest`
 * change then; resolvers read `ctx.principal` and `ctx.scope` only.
 */
import type { IncomingMessage } from 'node:http';
import type { Principal } from './context';

export const PRINCIPAL_HEADER = 'x-tracksafe-principal';

export function encodePrincipal(p: Principal): string {
  return Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
}

export function decodePrincipal(raw: string | undefined): Principal {
  if (!raw || raw.length > 4096) return { kind: 'anonymous' };
  try {
    const p = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Principal;
    if (p.kind === 'user' && typeof p.id === 'string' && typeof p.tenantId === 'string' && Array.isArray(p.roles) && Array.isArray(p.scopes)) {
      if (p.region !== undefined && !['EU', 'US', 'APAC'].includes(p.region)) return { kind: 'anonymous' };
      return p;
    }
    if (p.kind === 'system' && typeof p.id === 'string') return p;
  } catch {
    // fall through: a malformed header is an anonymous caller
  }
  return { kind: 'anonymous' };
}

/** Subgraph side: the principal the gateway forwarded. */
export function principalFromRequest(req: IncomingMessage): Principal {
  const raw = req.headers[PRINCIPAL_HEADER];
  return decodePrincipal(typeof raw === 'string' ? raw : undefined);
}
