/** Route lookup of the plain HTTP routes: exact paths first, then the longest `/*` prefix. */
import { findRoute, type RouteHandler } from '../../lib/http';

const named = (name: string): RouteHandler => Object.assign(() => undefined, { routeName: name });
const routes = { '/a': named('exact a'), '/scim/v2/Users/*': named('users'), '/scim/*': named('scim'), '/internal/clients/*': named('clients') };
const nameOf = (path: string) => (findRoute(routes, path) as unknown as { routeName?: string } | undefined)?.routeName;

test.each([
  ['/a', 'exact a'],
  ['/a/b', undefined],
  ['/scim/v2/Users', 'users'],
  ['/scim/v2/Users/42', 'users'],
  ['/scim/v2/UsersX', 'scim'],
  ['/scim', 'scim'],
  ['/scimx', undefined],
  ['/internal/clients/1/rotate-secret', 'clients'],
  ['/graphql', undefined],
  ['/constructor', undefined],
])('%s → %s', (path, expected) => {
  expect(nameOf(path)).toBe(expected);
});
