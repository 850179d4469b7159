// etc.exclude.list: the /etc paths a restore must leave alone. Same rule as the old tool: the
// second field of every non-comment line of /etc/tmpfiles.d/* that starts with /etc/ (made
// relative), plus .updated and kubernetes/manifests.
import path from 'node:path';
import type { Host } from '../host/ports.js';

export const ALWAYS_EXCLUDED = ['.updated', 'kubernetes/manifests'];

export function excludedEtcPaths(tmpfilesContents: readonly string[]): string[] {
  const found: string[] = [];
  for (const content of tmpfilesContents) {
    for (const line of content.split('\n')) {
      if (line.trimStart().startsWith('#')) continue;
      const field = line.trim().split(/\s+/)[1];
      if (field?.startsWith('/etc/')) found.push(field.slice('/etc/'.length));
    }
  }
  return [...new Set([...found, ...ALWAYS_EXCLUDED])];
}

export async function buildExcludeList(host: Host): Promise<string[]> {
  const dir = host.root.path('/etc/tmpfiles.d');
  let names: string[] = [];
  try {
    names = (await host.fs.readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const contents: string[] = [];
  for (const name of names) {
    const stat = await host.fs.stat(path.join(dir, name)).catch(() => undefined);
    if (stat?.isFile()) contents.push(await host.fs.readFile(path.join(dir, name), 'utf8'));
  }
  return excludedEtcPaths(contents);
}
