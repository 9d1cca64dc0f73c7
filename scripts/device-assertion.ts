/**
 * `npm run -s device:assertion -- <device id>`: prints a token assertion
 * (RFC 7523 jwt-bearer, 60 s, single-use jti) signed with a demo sensor
 * tag's development key, for `POST /oauth/token` at PLATFORM_ISSUER.
 * Development only: the demo keys are derivable from the repository.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK } from 'jose';
import { loadConfig } from '../lib/config';
import { demoPlan } from '../lib/demo';
import { demoDeviceKey } from '../lib/demo-credentials';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.appEnv !== 'development') throw new Error('demo device keys exist only in development');
  const deviceId = process.argv[2] ?? demoPlan().devices.find((d) => d.kind === 'SENSOR_TAG')!.id;
  const key = await importJWK(demoDeviceKey(deviceId).privateJwk, 'ES256');
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer(deviceId)
    .setSubject(deviceId)
    .setAudience(`${config.platformIssuer}/oauth/token`)
    .setIssuedAt()
    .setExpirationTime('60s')
    .setJti(randomUUID())
    .sign(key);
  process.stdout.write(`${jwt}\n`);
}

main().catch((err) => {
  process.stderr.write(`device:assertion failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
