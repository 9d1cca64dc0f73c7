/**
 * Target: bare @apollo/gateway in Apollo Server 5 with default settings —
 * `new ApolloGateway({ supergraphSdl })` (its default fetcher:
 * make-fetch-happen), `new ApolloServer({ gateway })`, served by
 * `startStandaloneServer` — against the open subgraphs. No plugins, no
 * context, nothing forwarded to the subgraphs.
 */
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { supergraphWithUrls } from './supergraph';
import type { RunningTarget, TargetStart } from './types';

export async function startTarget(start: TargetStart): Promise<RunningTarget> {
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: supergraphWithUrls(start.subgraphUrls) }) });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url: new URL('/graphql', url).toString(), stop: () => server.stop() };
}
