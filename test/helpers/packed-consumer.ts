/**
 * The package as a stranger gets it: `npm pack` of this repository (its `prepack` builds the
 * package from scratch), and throw-away projects that install the tarball with npm.
 *
 * A consumer installs with `npm ci --offline`: nothing comes from the network. Its lockfile is
 * cut from ours (the packages its dependencies reach, at the versions and places our lockfile
 * has them), so every package it needs is one `npm ci` of this repository already put in npm's
 * cache. `graphql-cache-layer` itself comes from the tarball, and `graphql` is installed once,
 * by the consumer, as the package's peer dependency.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [field: string]: unknown;
}

interface Manifest {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  engines?: Record<string, string>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Runs `npm pack` on this repository into `directory`; resolves to the tarball's path. */
export async function packPackage(directory: string): Promise<string> {
  mkdirSync(directory, { recursive: true });
  await run('npm', ['pack', '--pack-destination', directory], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 });
  const tarballs = readdirSync(directory).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`expected one tarball from npm pack, found ${JSON.stringify(tarballs)}`);
  return join(directory, tarballs[0]);
}

/** `npm run build`: the package and the catalog server, in dist/. */
export async function buildAll(): Promise<void> {
  await run('npm', ['run', 'build'], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

export interface ConsumerOptions {
  /** Where the project goes; created. */
  directory: string;
  /** The tarball from `packPackage`. */
  tarball: string;
  /** Files copied into the project (source path → name in the project). */
  files: Record<string, string>;
  /** Packages the project depends on besides the tarball, at the versions our lockfile has. */
  dependencies: string[];
}

/** Writes the project (package.json, a lockfile cut from ours, its files) and installs it offline. */
export async function installConsumer({ directory, tarball, files, dependencies }: ConsumerOptions): Promise<void> {
  mkdirSync(directory, { recursive: true });
  for (const [source, name] of Object.entries(files)) cpSync(source, join(directory, name));
  const ourLock = readJson<{ packages: Record<string, LockEntry> }>(join(PROJECT_ROOT, 'package-lock.json')).packages;
  const manifest = readJson<Manifest>(join(PROJECT_ROOT, 'package.json'));

  const tarballSpec = `file:${tarball}`;
  const direct: Record<string, string> = { [manifest.name]: tarballSpec };
  for (const name of dependencies) direct[name] = entryAt(ourLock, `node_modules/${name}`).version;

  const packages: Record<string, LockEntry> = {
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: tarballSpec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      dependencies: manifest.dependencies,
      peerDependencies: manifest.peerDependencies,
      ...(manifest.peerDependenciesMeta && { peerDependenciesMeta: manifest.peerDependenciesMeta }),
      ...(manifest.engines && { engines: manifest.engines }),
    },
  };
  // Walks what the package and the direct dependencies reach, resolving each name as node does
  // from where our lockfile puts the package that needs it.
  const queue: string[] = [];
  const add = (from: string, name: string, optional = false) => {
    const at = resolveInLock(ourLock, from, name);
    if (at === undefined) {
      if (optional) return;
      throw new Error(`${name} (needed by ${from || 'the consumer'}) is not in package-lock.json`);
    }
    if (packages[at] !== undefined) return;
    // Our dev/peer flags describe this repository, not the consumer.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = ourLock[at];
    packages[at] = entry;
    queue.push(at);
  };
  for (const name of Object.keys(manifest.dependencies)) add(`node_modules/${manifest.name}`, name);
  for (const name of dependencies) add('', name);
  // npm installs a package's required peers the consumer does not list (prom-client,
  // @opentelemetry/api): from our lockfile too.
  for (const name of Object.keys(manifest.peerDependencies)) {
    if (manifest.peerDependenciesMeta?.[name]?.optional !== true && !dependencies.includes(name)) add('', name);
  }
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    const entry = ourLock[at];
    for (const name of Object.keys(entry.dependencies ?? {})) add(at, name);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) add(at, name, true);
    for (const name of Object.keys(entry.peerDependencies ?? {})) add(at, name, entry.peerDependenciesMeta?.[name]?.optional === true);
  }

  const name = basename(directory);
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module', dependencies: direct }, null, 2));
  writeFileSync(
    join(directory, 'package-lock.json'),
    JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0', dependencies: direct }, ...packages } }, null, 2),
  );
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: directory, maxBuffer: 16 * 1024 * 1024 });
}

function entryAt(lock: Record<string, LockEntry>, path: string): LockEntry {
  const entry = lock[path];
  if (entry === undefined) throw new Error(`package-lock.json has no ${path}`);
  return entry;
}

/** Where node finds `name` from the package at `from`: its own node_modules, then each parent's. */
function resolveInLock(lock: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/** Every installed copy of `name` under `directory`'s node_modules, at any depth. */
export function installedCopies(directory: string, name: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    let entries: string[];
    try {
      entries = readdirSync(modules);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(modules, entry))) visit(join(modules, entry, scoped), `${entry}/${scoped}`);
      } else visit(join(modules, entry), entry);
    }
  };
  const visit = (path: string, packageName: string) => {
    if (packageName === name) found.push(path);
    walk(join(path, 'node_modules'));
  };
  walk(join(directory, 'node_modules'));
  return found;
}
