/**
 * SCIM errors (RFC 7644 §3.12): the `Error` message schema with the HTTP
 * status as a string and, where one fits, a `scimType`. Details are fixed
 * texts that never echo input (user names are personal data).
 */
import type { ServerResponse } from 'node:http';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType = 'invalidFilter' | 'invalidSyntax' | 'invalidPath' | 'invalidValue' | 'uniqueness' | 'mutability' | 'noTarget';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
  }
}

export const scimNotFound = () => new ScimError(404, 'Resource not found');
export const scimUnauthorized = () => new ScimError(401, 'Authorization failure');

/** Writes a SCIM JSON response (`application/scim+json`). */
export function sendScim(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/scim+json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function sendScimError(res: ServerResponse, err: ScimError): void {
  const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Bearer realm="scim"' } : {};
  sendScim(res, err.status, { schemas: [ERROR_SCHEMA], status: String(err.status), ...(err.scimType ? { scimType: err.scimType } : {}), detail: err.detail }, headers);
}
