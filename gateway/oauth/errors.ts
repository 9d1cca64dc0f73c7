/**
 * Token endpoint errors as RFC 6749 §5.2 has them: JSON `{ error,
 * error_description }`, 400 (401 for `invalid_client`), never cached.
 * Descriptions are fixed texts: they never say whether a client id exists.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../../lib/http';

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'unsupported_grant_type' | 'unauthorized_client';

const DESCRIPTIONS: Record<OAuthErrorCode, string> = {
  invalid_request: 'The request is missing a parameter or is malformed',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The grant is invalid, expired, or was already used',
  invalid_scope: 'The requested scope exceeds what the client was granted',
  unsupported_grant_type: 'Supported grant types: client_credentials, urn:ietf:params:oauth:grant-type:jwt-bearer',
  unauthorized_client: 'The client may not use this grant type',
};

/** Responses of the token endpoint must not be stored by caches (RFC 6749 §5.1). */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly status = error === 'invalid_client' ? 401 : 400,
    readonly headers: Record<string, string> = {},
    description?: string,
  ) {
    super(description ?? DESCRIPTIONS[error]);
  }
}

export function sendOAuthError(res: ServerResponse, err: OAuthError): void {
  sendJson(res, err.status, { error: err.error, error_description: err.message }, { ...NO_STORE, ...err.headers });
}
