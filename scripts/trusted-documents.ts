/**
 * Trusted-document manifests, built from `.graphql` files:
 *
 *   npm run trusted-docs -- build <app> <dir> [--out <file>]
 *       every named operation under <dir> (recursively), each with the
 *       fragments it uses, into trusted-documents/<app>.json (id = sha256
 *       of the printed document → document)
 *   npm run trusted-docs -- check [<manifests dir>]
 *       every manifest: ids match, documents valid against the supergraph
 *
 * Both validate each operation against the supergraph's API schema and
 * measure it against the production limits (depth, aliases, directives,
 * tokens, fields, cost): a document the production gateway would refuse
 * is refused here, before an app ships it. Exit code 1 on any problem.
 */
import { ApolloGateway } from '@apollo/gateway';
import { type GraphQLSchema, parse, validate } from 'graphql';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_COSTS, DEFAULT_LIST_SIZE, QUERY_LIMITS, exceededLimits, measureOperation } from '../lib/limits';
import { APP_NAME, TRUSTED_DOCUMENTS_DIR, type Manifest, TrustedDocumentStore, TrustedDocumentsError, buildManifest, trustedOperations } from '../lib/trusted-documents';
import { loadSupergraphSdl } from '../schema';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = ['usage:', '  trusted-docs build <app> <dir-of-.graphql-files> [--out <file>]', '  trusted-docs check [<manifests-dir>]'].join('\n');

function graphqlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...graphqlFiles(full));
    else if (name.endsWith('.graphql') || name.endsWith('.gql')) out.push(full);
  }
  return out;
}

async function apiSchema(): Promise<GraphQLSchema> {
  const gateway = new ApolloGateway({ supergraphSdl: loadSupergraphSdl() });
  const { schema } = await gateway.load();
  await gateway.stop();
  return schema;
}

/** Schema validation and production limits for each document; one line per document, problems counted. */
function inspect(app: string, manifest: Manifest, schema: GraphQLSchema, io: CliIo): number {
  let problems = 0;
  io.out(`${app}: ${Object.keys(manifest).length} document(s)`);
  io.out(`  ${'id'.padEnd(12)}  ${'operation'.padEnd(28)} depth aliases directives tokens fields cost`);
  for (const [id, body] of Object.entries(manifest)) {
    const errors = validate(schema, parse(body));
    const name = /(?:query|mutation|subscription)\s+(\w+)/.exec(body)?.[1] ?? '(anonymous)';
    if (errors.length) {
      problems++;
      io.err(`  ${id.slice(0, 12)}  ${name}: invalid against the supergraph: ${errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const m = measureOperation(schema, body, { cost: { costs: DEFAULT_COSTS, defaultListSize: DEFAULT_LIST_SIZE } });
    io.out(`  ${id.slice(0, 12)}  ${name.padEnd(28)} ${String(m.depth).padStart(5)} ${String(m.aliases).padStart(7)} ${String(m.directives).padStart(10)} ${String(m.tokens).padStart(6)} ${String(m.fields).padStart(6)} ${String(m.cost).padStart(4)}`);
    const over = exceededLimits(m, QUERY_LIMITS.production);
    if (over.length) {
      problems++;
      io.err(`  ${id.slice(0, 12)}  ${name}: above the production limits (${over.join(', ')})`);
    }
  }
  return problems;
}

/** Runs the CLI with `args` (after the script name); resolves with the exit code. */
export async function runTrustedDocumentsCli(args: readonly string[], io: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'build') {
      const outAt = rest.indexOf('--out');
      const outFile = outAt >= 0 ? rest[outAt + 1] : undefined;
      const positional = outAt >= 0 ? rest.filter((_, i) => i !== outAt && i !== outAt + 1) : rest;
      const [app, dir] = positional;
      if (!app || !dir || (outAt >= 0 && !outFile)) {
        io.err(USAGE);
        return 2;
      }
      if (!APP_NAME.test(app)) throw new TrustedDocumentsError(`"${app}" is not a valid app name (lowercase letters, digits, dashes)`);
      const files = graphqlFiles(dir);
      if (!files.length) throw new TrustedDocumentsError(`no .graphql files under ${dir}`);
      const operations = trustedOperations(files.map((file) => ({ file: path.relative(process.cwd(), file), text: readFileSync(file, 'utf8') })));
      const manifest = buildManifest(operations);
      const problems = inspect(app, manifest, await apiSchema(), io);
      if (problems) {
        io.err(`${problems} problem(s): manifest not written`);
        return 1;
      }
      const target = outFile ?? path.join(TRUSTED_DOCUMENTS_DIR, `${app}.json`);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, `${JSON.stringify(manifest, null, 2)}\n`);
      io.out(`wrote ${path.relative(process.cwd(), target) || target}`);
      return 0;
    }
    if (command === 'check') {
      const dir = rest[0] ?? TRUSTED_DOCUMENTS_DIR;
      const store = TrustedDocumentStore.fromDir(dir);
      const schema = await apiSchema();
      let problems = 0;
      for (const app of store.appNames()) {
        const manifest = JSON.parse(readFileSync(path.join(dir, `${app}.json`), 'utf8')) as Manifest;
        problems += inspect(app, manifest, schema, io);
      }
      if (!store.appNames().length) io.out(`no manifests in ${dir}`);
      return problems ? 1 : 0;
    }
    io.err(USAGE);
    return 2;
  } catch (err) {
    if (err instanceof TrustedDocumentsError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

if (require.main === module) {
  runTrustedDocumentsCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`trusted-docs failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
