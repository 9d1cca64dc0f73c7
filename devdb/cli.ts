/**
 * `npm run devdb -- --port 27027 --data .data/devdb [--host 127.0.0.1]`:
 * runs devdb as its own process until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startDevDb } from './server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27027' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string' },
      'ttl-interval-ms': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a TCP port, got ${values.port}`);
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => process.stderr.write(JSON.stringify({ level, msg, ...fields }) + '\n');
  const db = await startDevDb({
    port,
    host: values.host,
    dataDir: values.data,
    ttlIntervalMs: values['ttl-interval-ms'] ? Number(values['ttl-interval-ms']) : undefined,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  process.stdout.write(`devdb listening: ${db.uri}${values.data ? ` (data in ${values.data})` : ' (memory only)'}\n`);
  const stop = () => {
    db.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`devdb failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
