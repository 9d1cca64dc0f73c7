/**
 * `npm start`: the whole platform in one process on its embedded defaults
 * (devdb persisting under DATA_DIR, demo data on first run), or against
 * MONGODB_URI when set. Prints the URLs and how to try it.
 */
import { loadConfig, ConfigError } from '../lib/config';
import { ProductionSafetyError, assertProductionSafe } from '../lib/limits/environment';
import { demoPlan } from '../lib/demo';
import { createLogger } from '../lib/logger';
import { DRAIN_TIMEOUT_MS, onShutdown } from '../lib/shutdown';
import { demoTrackingLinks } from '../subgraphs/shipment/seed';
import { devCredentialLines } from './dev-credentials';
import { startPlatform } from './platform';

async function main(): Promise<void> {
  const config = loadConfig();
  // Production with a development setting (dev login, dev keys, local master key, wildcard CORS, SEED) does not start.
  assertProductionSafe(config);
  const logger = createLogger('tracksafe', config.logLevel);
  const platform = await startPlatform({ config, logger });
  const base = platform.gatewayUrl.replace('/graphql', '');
  const lines = [
    '',
    `Tracksafe is running (${config.appEnv})`,
    `  gateway     ${platform.gatewayUrl}   (Sandbox: open it in a browser)`,
    ...Object.entries(platform.subgraphUrls).map(([n, u]) => `  ${n.padEnd(11)} ${u}`),
    `  database    ${config.mongodbUri ? 'MONGODB_URI' : `embedded devdb ${platform.mongoUri} (data in ${config.dataDir}/devdb)`}`,
    `  health      ${platform.gatewayUrl.replace('/graphql', '/readyz')}`,
    platform.seeded ? '  demo data   seeded (2 tenants, users of every role, devices, 50 shipments)' : '  demo data   already present',
    ...(config.seed
      ? ['', 'Public tracking (no login): trackShipment(trackingNumber, token)', ...demoTrackingLinks(demoPlan()).map((l) => `  ${l.trackingNumber}  token ${l.token}  (${l.status})`)]
      : []),
    '',
    ...(config.appEnv === 'development'
      ? [
          'Try (a 15-minute token for a demo user, then a query across all four subgraphs):',
          `  TOKEN=$(curl -s -X POST ${base}/dev/token -d '{"user":"tenant.admin@northwind.example"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
          `  curl -s ${platform.gatewayUrl} -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
          `    -d '{"query":"{ shipments(first: 3) { totalCount edges { node { trackingNumber status tenant { name } devices { kind } recipientPrivacy { notificationChannels } } } } }"}'`,
          `  Demo users: ${demoPlan().users.filter((u) => u.tenantId === demoPlan().tenants[0].id).map((u) => u.email).join(', ')}`,
        ]
      : []),
    // Demo credentials exist only in development databases with demo data (seeding is refused elsewhere).
    ...(config.appEnv === 'development' && config.seed ? ['', ...devCredentialLines(demoPlan(), base)] : []),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // Front to back: the gateway drains, then the subgraphs, then the database (platform.ts).
  onShutdown(logger, () => platform.stop(), DRAIN_TIMEOUT_MS);
}

main().catch((err) => {
  const msg = err instanceof ConfigError || err instanceof ProductionSafetyError ? err.message : `Tracksafe failed to start: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(msg + '\n');
  process.exit(1);
});
