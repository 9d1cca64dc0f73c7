/**
 * `npm run pii:inventory`: writes docs/pii-inventory.md and
 * docs/pii-inventory.json from the PII map (schema `@pii`, lib/pii/storage.ts,
 * lib/pii/retention.ts). `-- --check` writes nothing and exits 1 when either
 * file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderPiiInventoryJson, renderPiiInventoryMarkdown } from '../lib/pii';

export const PII_INVENTORY_MD = path.resolve(__dirname, '..', 'docs', 'pii-inventory.md');
export const PII_INVENTORY_JSON = path.resolve(__dirname, '..', 'docs', 'pii-inventory.json');

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // A missing file is stale.
  }
}

function main(argv: readonly string[]): number {
  const outputs = [
    { file: PII_INVENTORY_MD, text: renderPiiInventoryMarkdown() },
    { file: PII_INVENTORY_JSON, text: renderPiiInventoryJson() },
  ];
  if (argv.includes('--check')) {
    const stale = outputs.filter((o) => read(o.file) !== o.text).map((o) => path.relative(process.cwd(), o.file));
    if (stale.length > 0) {
      process.stderr.write(`${stale.join(' and ')} ${stale.length > 1 ? 'are' : 'is'} stale: run \`npm run pii:inventory\` and commit the result.\n`);
      return 1;
    }
    process.stdout.write('docs/pii-inventory.{md,json} are up to date.\n');
    return 0;
  }
  for (const o of outputs) {
    writeFileSync(o.file, o.text);
    process.stdout.write(`Wrote ${path.relative(process.cwd(), o.file)}.\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
