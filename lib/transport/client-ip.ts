/**
 * The client's address as rate limits see it. Behind `trustProxyHops`
 * reverse proxies, the address is taken from X-Forwarded-For, counting
 * that many entries from the right (entries further left are whatever the
 * client wrote and are never trusted). IPv6 clients are keyed by their /64,
 * since one subscriber usually holds a whole /64.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';

function expandV6(ip: string): string[] | undefined {
  const [head, tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  if (ip.includes('::')) return [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return left.length === 8 ? left : undefined;
}

/** The rate-limit key for an address: IPv4 as is (also when IPv4-mapped), IPv6 as its /64 prefix. */
export function addressKey(address: string): string {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const groups = expandV6(ip);
  return groups ? `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64` : ip;
}

/** The client's address key (see `addressKey`); 'unknown' when the socket has none. */
export function clientIp(req: IncomingMessage, trustProxyHops = 0): string {
  if (trustProxyHops > 0) {
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : header ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const candidate = hops[hops.length - trustProxyHops];
    if (candidate && isIP(candidate.replace(/^\[|\]$/g, ''))) return addressKey(candidate);
  }
  return req.socket.remoteAddress ? addressKey(req.socket.remoteAddress) : 'unknown';
}

/** True when the client reached us over TLS: our own socket, or a trusted proxy saying so. */
export function isSecureRequest(req: IncomingMessage, trustProxyHops = 0): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  return trustProxyHops > 0 && String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim() === 'https';
}
