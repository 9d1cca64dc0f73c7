/**
 * Target: Hive Gateway (@graphql-hive/gateway 2.15, installed only in
 * bench/peers/hive/) — `createGatewayRuntime({ supergraph })` with its
 * defaults, served by node:http in this one process (the CLI would fork
 * workers) — against the open subgraphs. 'dedup' keeps its default
 * in-flight deduplication of identical subgraph requests; 'nodedup' turns
 * it off (`transportEntries['*.http'].options.deduplicateInflightRequests`).
 * Loaded from bench/peers/hive/node_modules with its own graphql-js.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { supergraphWithUrls } from './supergraph';
import type { RunningTarget, TargetStart } from './types';

export const HIVE_DIR = path.join(__dirname, '../peers/hive');

interface HiveRuntime {
  (req: unknown, res: unknown): void;
  dispose(): Promise<void> | void;
}

export async function startTarget(start: TargetStart): Promise<RunningTarget> {
  const hive = createRequire(path.join(HIVE_DIR, 'package.json'))('@graphql-hive/gateway') as {
    createGatewayRuntime(config: Record<string, unknown>): HiveRuntime;
  };
  const runtime = hive.createGatewayRuntime({
    supergraph: supergraphWithUrls(start.subgraphUrls),
    logging: 'error',
    ...(start.variant === 'nodedup' ? { transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } } : {}),
  });
  const server = createServer(runtime as never);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.dispose();
    },
  };
}
