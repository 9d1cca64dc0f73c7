/**
 * Partner API client credentials: issuing a client with a secret, rotating
 * the secret (the previous one keeps working for an overlap), and checking
 * a `client_credentials` request for the gateway's token endpoint. Secrets
 * are shown once and stored as scrypt hashes; an unknown client id costs
 * the same scrypt as a wrong secret and gets the same answer.
 */
import type { AuditSink } from '../../../lib/audit';
import { CLIENT_SECRET_PREFIX, generateSecret, hashSecret, verifyAgainstDecoy, verifySecret } from '../../../lib/auth/secrets';
import type { Lockout } from '../../../lib/auth/lockout';
import type { TenantPrincipal } from '../../../lib/context';
import { abacAttributesOf } from './abac';
import { newId, type ApiClientDoc, type ClientSecretDoc, type IdentityModels } from '../model';
import type { CredentialMetrics } from './metrics';

export interface ClientCredentialDeps {
  models: IdentityModels;
  audit: AuditSink;
  now: () => Date;
  /** How long a rotated-out secret keeps working (seconds). */
  overlapSeconds: number;
  /** Keyed by client id + IP. */
  lockout: Lockout;
  /** Keyed by IP. */
  ipLockout: Lockout;
  metrics: CredentialMetrics;
}

export interface NewApiClient {
  tenantId: string;
  name: string;
  scopes: string[];
  partnerOf?: string[];
  contractEndsAt?: Date | null;
  allowedEventTypes?: string[];
}

export type ClientGrant =
  | { ok: true; principal: TenantPrincipal; maxTtlSeconds: number }
  | { ok: false; error: 'invalid_client' | 'invalid_scope'; retryAfter?: number };

/** Client ids are 24-hex; anything else names no client (and never reaches a query). */
const CLIENT_ID = /^[a-f0-9]{24}$/;

/** The secrets that still open the door at `now`: the current one and a previous one inside its overlap. */
function liveSecrets(doc: Pick<ApiClientDoc, 'secrets'>, now: Date): ClientSecretDoc[] {
  return (doc.secrets ?? []).filter((s) => s.expiresAt === null || s.expiresAt.getTime() > now.getTime());
}

export class ClientCredentials {
  constructor(private readonly deps: ClientCredentialDeps) {}

  /** Issues a client with a fresh secret; the secret is in the result and nowhere else. Audited. */
  async create(actor: string, input: NewApiClient, requestId?: string): Promise<{ client: ApiClientDoc; clientSecret: string }> {
    const now = this.deps.now();
    const clientSecret = generateSecret(CLIENT_SECRET_PREFIX);
    const client: ApiClientDoc = {
      _id: newId(),
      tenantId: input.tenantId,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      contractEndsAt: input.contractEndsAt ?? null,
      status: 'ACTIVE',
      allowedEventTypes: input.allowedEventTypes ?? [],
      createdAt: now,
      partnerOf: [...new Set(input.partnerOf ?? [])],
      secrets: [{ hash: await hashSecret(clientSecret), createdAt: now, expiresAt: null }],
    };
    await this.deps.models.ApiClient.create(client);
    await this.deps.audit.record({ type: 'client.created', actor, tenantId: client.tenantId, target: `ApiClient:${client._id}`, requestId, details: { scopes: client.scopes, partnerOf: client.partnerOf } });
    return { client, clientSecret };
  }

  /**
   * A new current secret (returned once); the old current secret keeps
   * working until `previousValidUntil`, any older one stops now. Null for an
   * unknown client. Audited.
   */
  async rotate(actor: string, clientId: string, requestId?: string): Promise<{ clientSecret: string; previousValidUntil: Date } | null> {
    if (!CLIENT_ID.test(clientId)) return null;
    const doc = await this.deps.models.ApiClient.findById(clientId).lean<ApiClientDoc>();
    if (!doc) return null;
    const now = this.deps.now();
    const previousValidUntil = new Date(now.getTime() + this.deps.overlapSeconds * 1000);
    const clientSecret = generateSecret(CLIENT_SECRET_PREFIX);
    const current = liveSecrets(doc, now).find((s) => s.expiresAt === null);
    const secrets: ClientSecretDoc[] = [
      { hash: await hashSecret(clientSecret), createdAt: now, expiresAt: null },
      ...(current && this.deps.overlapSeconds > 0 ? [{ ...current, expiresAt: previousValidUntil }] : []),
    ];
    await this.deps.models.ApiClient.updateOne({ _id: clientId }, { $set: { secrets } });
    await this.deps.audit.record({ type: 'client.secret_rotated', actor, tenantId: doc.tenantId, target: `ApiClient:${clientId}`, requestId, details: { overlapSeconds: this.deps.overlapSeconds } });
    return { clientSecret, previousValidUntil };
  }

  /**
   * Checks a `client_credentials` request. Every refusal of the client is
   * the same `invalid_client` (unknown id, wrong secret, contract ended,
   * suspended or revoked), so the answer says nothing about which ids exist;
   * the audit record says which it was. Wrong secrets count towards the
   * lockout of the client id + IP and of the IP.
   */
  async grant(req: { clientId: string; clientSecret: string; scope?: string; ip: string; requestId?: string }): Promise<ClientGrant> {
    const pairKey = `client:${req.clientId}|${req.ip}`;
    const ipKey = `ip:${req.ip}`;
    const retryAfter = Math.max(await this.deps.lockout.retryAfter(pairKey), await this.deps.ipLockout.retryAfter(ipKey));
    if (retryAfter > 0) return { ok: false, error: 'invalid_client', retryAfter };

    const now = this.deps.now();
    const known = CLIENT_ID.test(req.clientId);
    const doc = known ? await this.deps.models.ApiClient.findById(req.clientId).lean<ApiClientDoc>() : null;
    const actor = doc ? `client:${doc._id}` : 'anonymous';
    const refuse = async (reason: string, error: 'invalid_client' | 'invalid_scope' = 'invalid_client'): Promise<ClientGrant> => {
      await this.deps.audit.record({ type: 'oauth.client_credentials.refused', actor, tenantId: doc?.tenantId, requestId: req.requestId, details: { reason } });
      return { ok: false, error };
    };

    let matched = false;
    if (!doc) await verifyAgainstDecoy(req.clientSecret);
    else for (const s of liveSecrets(doc, now)) if (!matched && (await verifySecret(req.clientSecret, s.hash))) matched = true;
    if (!matched) {
      this.deps.metrics.increment('failedClientAuthentications');
      const locked = Math.max(await this.deps.lockout.fail(pairKey), await this.deps.ipLockout.fail(ipKey));
      if (locked) {
        this.deps.metrics.increment('lockouts');
        await this.deps.audit.record({ type: 'auth.lockout', actor, tenantId: doc?.tenantId, requestId: req.requestId, details: { kind: 'client', seconds: locked } });
      }
      return refuse(doc ? 'wrong_secret' : 'unknown_client');
    }
    const client = doc!;
    if (client.status !== 'ACTIVE') return refuse(`status_${client.status.toLowerCase()}`);
    if (client.contractEndsAt && client.contractEndsAt.getTime() <= now.getTime()) return refuse('contract_ended');

    const requested = req.scope?.split(' ').filter(Boolean) ?? [];
    const granted = requested.length ? [...new Set(requested)] : client.scopes;
    if (granted.some((s) => !client.scopes.includes(s))) return refuse('scope_not_granted', 'invalid_scope');

    await this.deps.lockout.clear(pairKey);
    const tenant = await this.deps.models.Tenant.findOne({ _id: client.tenantId }, { homeRegion: 1 }).lean<{ homeRegion: TenantPrincipal['region'] }>();
    const untilContractEnd = client.contractEndsAt ? Math.floor((client.contractEndsAt.getTime() - now.getTime()) / 1000) : Number.POSITIVE_INFINITY;
    return {
      ok: true,
      maxTtlSeconds: untilContractEnd,
      principal: {
        kind: 'user',
        id: client._id,
        tenantId: client.tenantId,
        ...(tenant?.homeRegion ? { region: tenant.homeRegion } : {}),
        roles: ['PARTNER'],
        scopes: granted,
        subjectType: 'client',
        partnerOf: (client.partnerOf ?? []).filter((t) => t !== client.tenantId),
        ...abacAttributesOf(client),
      },
    };
  }
}
