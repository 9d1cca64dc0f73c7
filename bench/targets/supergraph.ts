/**
 * The checked-in supergraph (schema/supergraph.graphql) with each
 * subgraph's URL replaced: what the peers load, so every target plans over
 * the same schema. Reads the file directly: no graphql-js involved.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SubgraphName } from '../../schema';

export function supergraphWithUrls(urls: Record<SubgraphName, string>): string {
  const sdl = readFileSync(path.join(__dirname, '../../schema/supergraph.graphql'), 'utf8');
  let replaced = 0;
  const out = sdl.replace(/@join__graph\(name: "(\w+)", url: "[^"]*"\)/g, (_m, name: string) => {
    const url = urls[name as SubgraphName];
    if (!url) throw new Error(`no URL for subgraph ${name}`);
    replaced++;
    return `@join__graph(name: "${name}", url: "${url}")`;
  });
  if (replaced !== Object.keys(urls).length) throw new Error(`supergraph names ${replaced} subgraphs, expected ${Object.keys(urls).length}`);
  return out;
}
