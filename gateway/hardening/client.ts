/**
 * The client's network address, carried on the request context for the
 * cost budgets of anonymous callers (keyed per address). Apollo hands
 * plugins a shallow copy of the context, so the address is an own
 * enumerable property (under a private symbol) rather than an entry in a
 * map keyed by the context object, which the copy would miss.
 */
const CLIENT_ADDRESS = Symbol('tracksafe.clientAddress');

/** Stores `address` on `context` and returns the context (for the context function). */
export function bindClientAddress<T extends object>(context: T, address: string): T {
  (context as Record<symbol, unknown>)[CLIENT_ADDRESS] = address;
  return context;
}

/** The address bound to `context` (or to the context it was copied from), if any. */
export function clientAddressOf(context: object): string | undefined {
  const v = (context as Record<symbol, unknown>)[CLIENT_ADDRESS];
  return typeof v === 'string' ? v : undefined;
}
