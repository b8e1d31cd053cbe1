// A fixture folder (fixture-format.md): mesh.yaml and traffic.jsonl required,
// expected.yaml optional. Every problem names the file (and line) and the fix.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Inventory, InventoryError, parseMesh } from '../../contracts/index.ts';
import { FixtureError } from './errors.ts';
import { parseExpected, type Expected } from './expected.ts';

export interface Fixture {
  name: string;
  dir: string;
  inventory: Inventory;
  trafficFile: string;
  expected?: Expected;
}

export function loadFixture(dirArg: string): Fixture {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FixtureError(`${dirArg}: not a fixture folder; give a folder holding mesh.yaml and traffic.jsonl`);
  }
  const meshFile = join(dir, 'mesh.yaml');
  const trafficFile = join(dir, 'traffic.jsonl');
  const expectedFile = join(dir, 'expected.yaml');
  const inventory = new Inventory(parseMeshFile(meshFile));
  if (!existsSync(trafficFile)) throw new FixtureError(`${trafficFile}: missing; a fixture records its traffic there, one access-log record a line`);
  if (!statSync(trafficFile).isFile()) throw new FixtureError(`${trafficFile}: not a file; a fixture records its traffic there, one access-log record a line`);
  const expected = existsSync(expectedFile) ? parseExpected(read(expectedFile), expectedFile, inventory) : undefined;
  return { name: basename(dir), dir, inventory, trafficFile, expected };
}

function parseMeshFile(file: string) {
  if (!existsSync(file)) throw new FixtureError(`${file}: missing; a fixture describes its mesh there (apiVersion: meshscope/v1, kind: Mesh)`);
  try {
    return parseMesh(read(file), file);
  } catch (err) {
    if (err instanceof InventoryError) throw new FixtureError(err.message);
    throw err;
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FixtureError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}
