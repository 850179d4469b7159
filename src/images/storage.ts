// The node's containers-storage, as skopeo reaches it: `containers-storage:[driver@graphroot+runroot]`
// with the driver and paths read from the node's /etc/containers/storage.conf (RHCOS: overlay,
// /var/lib/containers/storage, /run/containers/storage), each taken under the node root. Nothing
// is hard-coded but the defaults containers-storage itself falls back to.
import { createHash } from 'node:crypto';
import { RecoveryError } from '../core/errors.js';
import type { Host } from '../host/ports.js';
import type { StorageConfig } from './schema.js';

export const STORAGE_CONF = '/etc/containers/storage.conf';
export const STORAGE_DEFAULTS: StorageConfig = { driver: 'overlay', graphroot: '/var/lib/containers/storage', runroot: '/run/containers/storage' };

/** The three keys of storage.conf's `[storage]` table we need; the rest of the TOML is ignored. */
export function parseStorageConf(text: string): StorageConfig {
  const config = { ...STORAGE_DEFAULTS };
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+|\s+$/g, '');
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) {
      table = header[1]!.trim();
      continue;
    }
    if (table !== 'storage') continue;
    const pair = /^(driver|graphroot|runroot)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(line);
    if (pair) config[pair[1] as keyof StorageConfig] = pair[2] ?? pair[3] ?? '';
  }
  return config;
}

export async function readStorageConfig(host: Host): Promise<StorageConfig> {
  const text = await host.fs.readFile(host.root.path(STORAGE_CONF), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw new RecoveryError('failure', `cannot read ${STORAGE_CONF}: ${error.message}`);
  });
  const config = parseStorageConf(text);
  for (const key of ['graphroot', 'runroot'] as const) {
    if (!config[key].startsWith('/')) throw new RecoveryError('failure', `${STORAGE_CONF}: ${key} must be an absolute path, not "${config[key]}"`);
  }
  return config;
}

/** `containers-storage:[overlay@<root>/var/lib/containers/storage+<root>/run/containers/storage]<reference>`. */
export function storageReference(host: Host, config: StorageConfig, reference: string): string {
  const driver = config.driver ? `${config.driver}@` : '';
  return `containers-storage:[${driver}${host.root.path(config.graphroot)}+${host.root.path(config.runroot)}]${reference}`;
}

/** The digest of the manifest an image in storage has, and the ID it resolves to; undefined when absent. */
export async function inspectInStorage(host: Host, config: StorageConfig, reference: string): Promise<{ manifestDigest: string; configDigest: string } | undefined> {
  const result = await host.runner.run('skopeo', ['inspect', '--raw', storageReference(host, config, reference)]);
  if (result.exitCode !== 0) return undefined;
  let configDigest = '';
  try {
    configDigest = String((JSON.parse(result.stdout) as { config?: { digest?: unknown } }).config?.digest ?? '');
  } catch {
    return undefined;
  }
  return { manifestDigest: `sha256:${createHash('sha256').update(result.stdout).digest('hex')}`, configDigest };
}

export function skopeoFailure(what: string, result: { exitCode: number; stderr: string; stdout: string }): string {
  const words = (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' | ');
  if (result.exitCode === 127) return `${what}: skopeo cannot be run (${words || 'not found'}); it ships with RHCOS, and on Debian: apt-get install skopeo`;
  return `${what}: skopeo exited ${result.exitCode}${words ? `: ${words}` : ''}`;
}
