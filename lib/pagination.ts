/**
 * Relay-style pagination: `first` capped (100 by default) with a clear
 * error above, opaque cursors that carry the sort key and id, and the page
 * shape every connection returns.
 */
import { BadUserInputError } from './errors';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export interface PageRequest {
  first: number;
  after?: CursorPosition;
}

/** Where a page starts: after the item with this sort value and id. */
export interface CursorPosition {
  /** Sort value (epoch ms for dates, or a string). */
  k: number | string;
  id: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.k, pos.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    if (cursor.length > 512) throw new Error();
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) throw new Error();
    const [k, id] = parsed;
    if ((typeof k !== 'number' && typeof k !== 'string') || typeof id !== 'string' || !id) throw new Error();
    return { k, id };
  } catch {
    throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
  }
}

export function pageRequest(first: number | null | undefined, after: string | null | undefined, max = MAX_PAGE_SIZE): PageRequest {
  const n = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new BadUserInputError(`first must be between 0 and ${max}`, { argument: 'first', max });
  }
  return { first: n, after: after ? decodeCursor(after) : undefined };
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount?: number;
}

/** Builds a connection from `first + 1` fetched items (the extra one tells whether a next page exists). */
export function toConnection<T>(items: T[], first: number, cursorOf: (item: T) => CursorPosition, totalCount?: number): Connection<T> {
  const page = items.slice(0, first);
  const edges = page.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: items.length > first, endCursor: edges.length ? edges[edges.length - 1].cursor : null },
    totalCount,
  };
}
