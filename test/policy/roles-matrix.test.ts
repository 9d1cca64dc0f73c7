/**
 * docs/roles.md is generated from the SDL: it must match what
 * `npm run roles:matrix` prints today.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { matrixCell, renderRolesMatrix } from '../../lib/policy/matrix';

const ROLES_DOC = path.resolve(__dirname, '..', '..', 'docs', 'roles.md');

describe('docs/roles.md', () => {
  it('is up to date with the security directives (regenerate: npm run roles:matrix -- --write)', () => {
    expect(readFileSync(ROLES_DOC, 'utf8')).toBe(renderRolesMatrix());
  });

  it('has a row for every root field and entity type, and the nine role columns', () => {
    const text = renderRolesMatrix();
    for (const row of ['`Query.shipments`', '`Mutation.createTenant`', '`Shipment`', '`Device`', '`Tenant`', '`User`', '`Shipment.recipient`']) {
      expect(text).toContain(`| ${row} |`);
    }
    expect(text).toContain('| TENANT_ADMIN | SECURITY_ADMIN | PRIVACY_OFFICER | SUPPORT_AGENT | DISPATCHER | DRIVER | AUDITOR | PARTNER | DEVICE |');
    expect(text).toContain('- `Query.trackShipment` (shipment): anyone');
  });
});

describe('a matrix cell', () => {
  const guard = (roles?: string[], scopes?: string[], policies: string[] = []) => ({ roles, scopes, policies, isPublic: false });

  it('is empty for a role the guards refuse, ✓ with scopes and policies otherwise', () => {
    const layers = [guard(['TENANT_ADMIN', 'DRIVER'], undefined, ['tenantOrPartner', 'driverOnShift']), guard(['TENANT_ADMIN', 'DRIVER'], ['shipments:read'])];
    expect(matrixCell('AUDITOR', layers)).toBe('');
    expect(matrixCell('TENANT_ADMIN', layers)).toBe('✓ + `shipments:read` · *tenantOrPartner*');
    expect(matrixCell('DRIVER', layers)).toBe('✓ + `shipments:read` · *tenantOrPartner* · *driverOnShift*');
  });
});
