import { parse, print } from 'graphql';
import { mirrorFederationAuth } from '../federation-auth';

const mirror = (sdl: string) => print(mirrorFederationAuth(parse(sdl)));
const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes"])';

describe('mirrorFederationAuth', () => {
  it('adds @authenticated to a guarded type and @requiresScopes with one alternative per scope', () => {
    const out = mirror(`${LINK}
      type T @auth(requires: [A]) { a: Int @scope(any: ["x:read", "y:read"]) b: Int }`);
    expect(out).toContain('type T @auth(requires: [A]) @authenticated {');
    expect(out).toContain('a: Int @scope(any: ["x:read", "y:read"]) @authenticated @requiresScopes(scopes: [["x:read"], ["y:read"]])');
    expect(out).toMatch(/\n\s+b: Int\n/);
  });

  it('treats a policy alone as a guard and leaves public fields anonymous', () => {
    const out = mirror(`${LINK}
      type Query { p: Int @public q: Int @policy(name: "sameTenant") }`);
    expect(out).toContain('p: Int @public\n');
    expect(out).toContain('q: Int @policy(name: "sameTenant") @authenticated');
  });

  it('does not duplicate directives already present', () => {
    const out = mirror(`${LINK}
      type Query { q: Int @scope(any: ["x"]) @authenticated @requiresScopes(scopes: [["x"]]) }`);
    expect(out.match(/@authenticated/g)).toHaveLength(2); // the import and one application
    expect(out.match(/@requiresScopes\(/g)).toHaveLength(1);
  });

  it('uses the namespaced name when not imported and the alias when renamed', () => {
    const namespaced = mirror(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { q: Int @scope(any: ["x"]) }`);
    expect(namespaced).toContain('@federation__authenticated @federation__requiresScopes(scopes: [["x"]])');
    const aliased = mirror(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [{ name: "@authenticated", as: "@signedIn" }])
      type Query { q: Int @auth(requires: [A]) }`);
    expect(aliased).toContain('q: Int @auth(requires: [A]) @signedIn');
  });
});
