/**
 * `/.well-known/security.txt` (RFC 9116): where to report a vulnerability.
 * Contact and Expires are required; Preferred-Languages and Canonical are
 * set from configuration too, Policy when given.
 */
import type { RouteHandler } from '../http';
import type { SecurityTxtSettings } from './settings';

export const SECURITY_TXT_PATH = '/.well-known/security.txt';

export function securityTxt(s: SecurityTxtSettings): string {
  return [
    ...s.contact.map((c) => `Contact: ${c}`),
    `Expires: ${s.expires}`,
    `Preferred-Languages: ${s.preferredLanguages}`,
    `Canonical: ${s.canonical}`,
    ...(s.policy ? [`Policy: ${s.policy}`] : []),
    '',
  ].join('\n');
}

export function securityTxtRoute(s: SecurityTxtSettings): RouteHandler {
  const body = securityTxt(s);
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'public, max-age=86400' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
