/**
 * One process of `ensureTree` (generate.ts): writes the delivery files of the accounts given, from the real
 * record shapes in ../shared/data, and prints `{files, events}`.
 *   tree-writer.ts <dir> <spec name> <account...>
 */
import { resolve } from 'node:path';
import { loadTemplates, MONTH_TREE, TEN_MILLION_TREE, writeTreeAccounts } from './generate';

const [dir, name, ...accounts] = process.argv.slice(2);
const spec = [MONTH_TREE, TEN_MILLION_TREE].find((s) => s.name === name);
if (!spec || !dir) throw new Error('usage: tree-writer.ts <dir> <spec name> <account...>');
const templates = loadTemplates(resolve(__dirname, '../../../shared/data'));
process.stdout.write(JSON.stringify(writeTreeAccounts(dir, spec, accounts, templates)));
