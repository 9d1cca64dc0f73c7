import { SYSTEM, asUser, codes, demoUser, officer, reasons, startPrivacy, type PrivacyKit } from './kit';

let kit: PrivacyKit;
beforeAll(async () => {
  kit = await startPrivacy();
});
afterAll(() => kit?.close());

const FIELDS = 'subjectId notificationChannels dataSharing { analytics marketing partners } updatedAt';
const GET = `query ($s: ID!) { privacySettings(subjectId: $s) { ${FIELDS} } }`;
const UPDATE = `mutation ($s: ID!, $i: PrivacySettingsInput!) { updatePrivacySettings(subjectId: $s, input: $i) { ${FIELDS} } }`;
const DEFAULTS = { notificationChannels: [], dataSharing: { analytics: false, marketing: false, partners: false }, updatedAt: null };

describe('privacySettings', () => {
  test('a subject who never chose gets the defaults: no channel, nothing shared, updatedAt null', async () => {
    const subject = kit.plan.shipments[1].recipientSubjectId;
    const res = await kit.gql(GET, { s: subject }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!.privacySettings).toEqual({ subjectId: subject, ...DEFAULTS });
  });

  test("a subject's stored choices are returned to their tenant", async () => {
    const subject = kit.plan.shipments[0].recipientSubjectId;
    const res = await kit.gql(GET, { s: subject }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!.privacySettings).toEqual({
      subjectId: subject,
      notificationChannels: ['EMAIL'],
      dataSharing: { analytics: true, marketing: false, partners: false },
      updatedAt: expect.stringMatching(/Z$/),
    });
  });

  test("another tenant never sees a subject's stored choices: it gets the defaults", async () => {
    const subject = kit.plan.shipments[0].recipientSubjectId;
    const res = await kit.gql(GET, { s: subject }, officer(kit.plan, 1));
    expect(res.errors).toBeUndefined();
    expect(res.data!.privacySettings).toEqual({ subjectId: subject, ...DEFAULTS });
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const res = await kit.gql(GET, { s: kit.plan.shipments[0].recipientSubjectId });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.data).toEqual({ privacySettings: null });
  });

  test.each([
    ['with a space', 'a b', 'INVALID_INPUT'],
    ['over-long (every ID is capped at 128 characters, lib/validation/length.ts)', 'x'.repeat(129), 'TOO_LONG'],
    ['empty', '', 'INVALID_INPUT'],
  ])('a subject id %s is BAD_USER_INPUT', async (_what, s, reason) => {
    const res = await kit.gql(GET, { s }, officer(kit.plan, 0));
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual([reason]);
  });

  test('a wrong argument type is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await kit.gql(`{ privacySettings(subjectId: true) { subjectId } }`, {}, officer(kit.plan, 0));
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

describe('updatePrivacySettings', () => {
  test('the first change starts from the defaults and stamps updatedAt from the clock', async () => {
    kit.clock.set('2025-03-10T10:00:00.000Z');
    const res = await kit.gql(UPDATE, { s: 'subject-first', i: { dataSharing: { marketing: true } } }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!.updatePrivacySettings).toEqual({
      subjectId: 'subject-first',
      notificationChannels: [],
      dataSharing: { analytics: false, marketing: true, partners: false },
      updatedAt: '2025-03-10T10:00:00.000Z',
    });
  });

  test('omitted fields stay as they are; channels are stored once each, in a fixed order', async () => {
    kit.clock.set('2025-03-11T08:00:00.000Z');
    const res = await kit.gql(UPDATE, { s: 'subject-first', i: { notificationChannels: ['PUSH', 'EMAIL', 'PUSH'], dataSharing: { analytics: true } } }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!.updatePrivacySettings).toEqual({
      subjectId: 'subject-first',
      notificationChannels: ['EMAIL', 'PUSH'],
      dataSharing: { analytics: true, marketing: true, partners: false },
      updatedAt: '2025-03-11T08:00:00.000Z',
    });
    const read = await kit.gql(GET, { s: 'subject-first' }, officer(kit.plan, 0));
    expect(read.data!.privacySettings).toEqual(res.data!.updatePrivacySettings);
    expect(await kit.models.PrivacySettings.countDocuments({ subjectId: 'subject-first' })).toBe(1);
  });

  test('an empty channel list withdraws every channel', async () => {
    const res = await kit.gql(UPDATE, { s: 'subject-first', i: { notificationChannels: [] } }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!.updatePrivacySettings.notificationChannels).toEqual([]);
    expect(res.data!.updatePrivacySettings.dataSharing.marketing).toBe(true);
  });

  test("a write by tenant B creates B's own settings and leaves tenant A's untouched", async () => {
    const res = await kit.gql(UPDATE, { s: 'subject-first', i: { dataSharing: { partners: true } } }, officer(kit.plan, 1));
    expect(res.errors).toBeUndefined();
    expect(res.data!.updatePrivacySettings.dataSharing).toEqual({ analytics: false, marketing: false, partners: true });
    const a = await kit.gql(GET, { s: 'subject-first' }, officer(kit.plan, 0));
    expect(a.data!.privacySettings.dataSharing).toEqual({ analytics: true, marketing: true, partners: false });
    expect(await kit.models.PrivacySettings.countDocuments({ subjectId: 'subject-first' })).toBe(2);
  });

  test('a user can change their own settings', async () => {
    const user = demoUser(kit.plan, 0, 'DRIVER');
    // updatePrivacySettings needs privacy:write, which a DRIVER's role-implied scopes (lib/auth/scopes.ts) do not include.
    const res = await kit.gql(UPDATE, { s: user.id, i: { notificationChannels: ['SMS'] } }, asUser(user, user.roles, ['privacy:write']));
    expect(res.errors).toBeUndefined();
    expect(res.data!.updatePrivacySettings).toMatchObject({ subjectId: user.id, notificationChannels: ['SMS'] });
  });

  test('concurrent first writes for one subject all succeed into one document', async () => {
    const results = await Promise.all(
      ['analytics', 'marketing', 'partners', 'analytics'].map((toggle) => kit.gql(UPDATE, { s: 'subject-race', i: { dataSharing: { [toggle]: true } } }, officer(kit.plan, 0))),
    );
    for (const res of results) expect(res.errors).toBeUndefined();
    expect(await kit.models.PrivacySettings.countDocuments({ subjectId: 'subject-race' })).toBe(1);
    const read = await kit.gql(GET, { s: 'subject-race' }, officer(kit.plan, 0));
    expect(read.data!.privacySettings.dataSharing).toEqual({ analytics: true, marketing: true, partners: true });
  });

  test('is audited with the names of the changed fields, never their values or the subject id', async () => {
    kit.audit.events.length = 0;
    const actor = demoUser(kit.plan, 0, 'PRIVACY_OFFICER');
    const res = await kit.gql(UPDATE, { s: 'subject-audited', i: { notificationChannels: ['EMAIL'], dataSharing: { marketing: false } } }, asUser(actor), );
    expect(res.errors).toBeUndefined();
    expect(kit.audit.events).toEqual([
      expect.objectContaining({
        type: 'privacy.settings.updated',
        actor: `user:${actor.id}`,
        tenantId: actor.tenantId,
        target: expect.stringMatching(/^PrivacySettings:[0-9a-f]{24}$/),
        requestId: expect.any(String),
        details: { changed: ['notificationChannels', 'dataSharing.marketing'] },
      }),
    ]);
    const text = JSON.stringify(kit.audit.events);
    expect(text).not.toContain('subject-audited');
    expect(text).not.toContain('EMAIL');
  });

  test('a system principal has no tenant to write for: BAD_USER_INPUT (TENANT_REQUIRED)', async () => {
    const res = await kit.gql(UPDATE, { s: 'subject-system', i: { notificationChannels: ['SMS'] } }, SYSTEM);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['TENANT_REQUIRED']);
    expect(await kit.models.PrivacySettings.countDocuments({ subjectId: 'subject-system' })).toBe(0);
  });

  test('an anonymous caller is UNAUTHENTICATED and nothing is written', async () => {
    const res = await kit.gql(UPDATE, { s: 'subject-anon', i: { notificationChannels: ['SMS'] } });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(await kit.models.PrivacySettings.countDocuments({ subjectId: 'subject-anon' })).toBe(0);
  });

  test('an unknown channel is refused before any resolver runs', async () => {
    const literal = await kit.gql(`mutation { updatePrivacySettings(subjectId: "s1", input: { notificationChannels: [FAX] }) { subjectId } }`, {}, officer(kit.plan, 0));
    expect(codes(literal)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const variable = await kit.gql(UPDATE, { s: 's1', i: { notificationChannels: ['FAX'] } }, officer(kit.plan, 0));
    expect(codes(variable)).toEqual(['BAD_USER_INPUT']);
    expect(await kit.models.PrivacySettings.countDocuments({ subjectId: 's1' })).toBe(0);
  });
});
