/**
 * Docker cannot run here, so docker-compose.yml and the Dockerfile are kept
 * honest by reading them: every service builds or pulls an image, runs a
 * file the build produces, and is wired (ports, URLs, database) exactly as
 * the configuration code reads it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARS, loadConfig } from '../../lib/config';
import { SUBGRAPH_NAMES } from '../../schema';

const root = path.resolve(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; ports?: string[]; expose?: string[]; depends_on?: unknown }>;
};
const services = compose.services;

/** dist/x/y.js is built from x/y.ts. */
function sourceOf(distFile: string): string {
  return path.join(root, distFile.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
}

function envOf(name: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(services[name].environment ?? {}).map(([k, v]) => [k, String(v)]));
}

describe('docker-compose.yml', () => {
  test('has MongoDB, Redis, every subgraph and the gateway', () => {
    expect(Object.keys(services).sort()).toEqual(['device', 'gateway', 'identity', 'mongo', 'privacy', 'redis', 'seed', 'shipment'].sort());
  });

  test('every service has an image or a build, and platform commands run files the build produces', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect({ name, ok: Boolean(svc.image || svc.build) }).toEqual({ name, ok: true });
      if (svc.build) {
        const [node, file] = svc.command ?? [];
        expect(node).toBe('node');
        expect({ name, source: existsSync(sourceOf(file)) }).toEqual({ name, source: true });
      }
    }
  });

  test('subgraphs fetch the internal token keys from the gateway they trust', () => {
    for (const name of SUBGRAPH_NAMES) expect(loadConfig(envOf(name)).internalJwksUrl).toBe('http://gateway:4000/.well-known/internal-jwks.json');
  });

  test('MongoDB runs as a replica set and the platform connects to it as one', () => {
    expect(services.mongo.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    for (const name of [...SUBGRAPH_NAMES, 'seed']) {
      const config = loadConfig(envOf(name));
      expect(config.mongodbUri).toMatch(/^mongodb:\/\/mongo:27017\/\?replicaSet=rs0$/);
    }
  });

  test("each subgraph listens where the gateway's URL says, on all interfaces", () => {
    const gw = loadConfig(envOf('gateway'));
    for (const name of SUBGRAPH_NAMES) {
      const sg = loadConfig(envOf(name));
      expect(sg.host).toBe('0.0.0.0');
      expect(services[name].command).toEqual(['node', 'dist/scripts/start-subgraph.js', name]);
      expect(services[name].expose).toEqual([String(sg.subgraphs[name].port)]);
      expect(gw.subgraphs[name].url).toBe(`http://${name}:${sg.subgraphs[name].port}/graphql`);
    }
  });

  test('the gateway publishes the port it listens on', () => {
    const gw = loadConfig(envOf('gateway'));
    expect(gw.host).toBe('0.0.0.0');
    expect(services.gateway.ports).toEqual([`${gw.gatewayPort}:${gw.gatewayPort}`]);
  });

  test('every environment variable a service sets is one the configuration knows', () => {
    const known = new Set(CONFIG_VARS.flatMap((v) => v.name.split(' / ')));
    for (const name of [...SUBGRAPH_NAMES, 'gateway', 'seed']) {
      for (const key of Object.keys(envOf(name))) expect({ name, key, known: known.has(key) }).toEqual({ name, key, known: true });
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

  test('is multi-stage and runs as a non-root user', () => {
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const user = text.match(/^USER (\S+)/m)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  test('ships the SDL and the trusted-document manifests the compiled servers read, and copies every source folder the build needs', () => {
    expect(text).toMatch(/COPY --from=build .*\/app\/schema \.\/schema/);
    expect(text).toMatch(/COPY --from=build .*\/app\/trusted-documents \.\/trusted-documents/);
    for (const dir of ['devdb', 'lib', 'schema', 'gateway', 'subgraphs', 'scripts']) expect(text).toContain(`COPY ${dir} ./${dir}`);
  });
});
