/**
 * What `npm start` prints in development about the demo credentials
 * (lib/demo-credentials.ts): the partner client's id and secret, each demo
 * user's password and TOTP secret, each tenant's SCIM token, and how to use
 * them. Never called outside development with demo data.
 */
import { demoClientSecret, demoPassword, demoScimToken, demoTotpSecret } from '../lib/demo-credentials';
import type { DemoPlan } from '../lib/demo';

export function devCredentialLines(plan: DemoPlan, base: string): string[] {
  const c = plan.apiClient;
  const tag = plan.devices.find((d) => d.kind === 'SENSOR_TAG')!;
  const width = Math.max(...plan.users.map((u) => u.email.length));
  return [
    'Development credentials (demo data only; derivable from the repository, never use them for anything real):',
    `  partner API client  id ${c.id}  secret ${demoClientSecret(c.id)}`,
    `    TOKEN=$(curl -s -u '${c.id}:${demoClientSecret(c.id)}' -d grant_type=client_credentials ${base}/oauth/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
    '  demo users (password, TOTP secret for an authenticator app):',
    ...plan.users.map((u) => `    ${u.email.padEnd(width)}  ${demoPassword(u.id)}  ${demoTotpSecret(u.id)}`),
    `    CODE=$(node -e "require('otplib').generate({ secret: process.argv[1] }).then(console.log)" ${demoTotpSecret(plan.users[0].id)})`,
    `    curl -s ${base}/auth/login -H 'content-type: application/json' -d '{"email":"${plan.users[0].email}","password":"${demoPassword(plan.users[0].id)}","totp":"'$CODE'"}'`,
    '  SCIM bearer tokens (GET/POST /scim/v2/Users, PATCH/DELETE /scim/v2/Users/<id>):',
    ...plan.tenants.map((t) => `    ${t.name.padEnd(18)} ${demoScimToken(t.id)}`),
    `  device token: ASSERTION=$(npm run -s device:assertion -- ${tag.id}); curl -s ${base}/oauth/token -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer -d assertion=$ASSERTION`,
  ];
}
