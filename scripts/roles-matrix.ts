/**
 * `npm run roles:matrix`: prints the role × capability matrix (Markdown)
 * generated from the security directives of schema/*.graphql.
 * `-- --write` writes it to docs/roles.md; `-- --check` writes nothing and
 * exits 1 when docs/roles.md is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderRolesMatrix } from '../lib/policy/matrix';

export const ROLES_DOC = path.resolve(__dirname, '..', 'docs', 'roles.md');

function main(argv: readonly string[]): number {
  const text = renderRolesMatrix();
  const target = path.relative(process.cwd(), ROLES_DOC);
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(ROLES_DOC, 'utf8');
    } catch {
      // A missing file is stale.
    }
    if (current !== text) {
      process.stderr.write(`${target} is stale: run \`npm run roles:matrix -- --write\` and commit the result.\n`);
      return 1;
    }
    process.stdout.write(`${target} is up to date.\n`);
    return 0;
  }
  if (argv.includes('--write')) {
    writeFileSync(ROLES_DOC, text);
    process.stdout.write(`Wrote ${target}.\n`);
    return 0;
  }
  process.stdout.write(text);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
