// Writes the manifest of one component of a generation by describing what was copied (not the
// live source, which may have moved on), and returns its record for backup.json.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { describeTree, identityOf, typeOfStat, type EntryDescription } from '../tree/describe.js';
import { hashFile } from '../tree/hashFile.js';
import { joinPath } from '../tree/pathBytes.js';
import { ManifestWriter } from '../manifest/writer.js';
import { fitsOtherThread } from '../host/threadBudget.js';
import type { GenerationPaths } from './layout.js';
import type { ComponentRecord } from './summary.js';
import type { TreeSize } from './diskSpace.js';

/**
 * Coarse kernel timestamps can lag the wall clock by a tick, and a change during the copy must
 * never look older than the copy: a file whose ctime is this close to the copy's start is not
 * vouched for.
 */
const IDENTITY_MARGIN_NS = 2_000_000_000n;

/** Where the copy came from, to record each file's identity on the node (see the manifest schema). */
export interface CopySource {
  dir: string;
  /** When the copy started. */
  startedAt: Date;
}

export async function writeTreeManifest(
  host: Host,
  reporter: Reporter,
  paths: GenerationPaths,
  component: string,
  source: string,
  expected: TreeSize,
  copySource?: CopySource,
): Promise<ComponentRecord> {
  const file = paths.manifest(component);
  const writer = await ManifestWriter.create(host.fs, file, component, host.clock.now());
  const progress = { files: 0, bytes: 0 };
  const sourceDir = copySource ? Buffer.from(copySource.dir) : undefined;
  const unchangedBefore = copySource ? BigInt(copySource.startedAt.getTime()) * 1_000_000n - IDENTITY_MARGIN_NS : 0n;
  try {
    for await (const { rel, description } of describeTree(host, paths.tree(component), {
      hash: true,
      hashHere: !fitsOtherThread(expected.entries),
      // A tree copy vouches for its own entries too (nothing changes it after this), so that the
      // structure checks of verify and restore need no getfattr. Not the cluster snapshot, just
      // written (its few entries are not worth the wait for its timestamps to settle).
      copyIdentity: copySource !== undefined,
      onProgress: ({ files, bytes }) => {
        progress.files += files;
        progress.bytes += bytes;
        reporter.progress({ component, activity: 'hash', ...progress, totalFiles: expected.files, totalBytes: expected.bytes });
      },
    })) {
      if (sourceDir) {
        const identity = sourceIdentity(host, joinPath(sourceDir, rel), description, unchangedBefore);
        if (identity) description.identity = identity;
      }
      await writer.add(description);
    }
  } catch (error) {
    await writer.abandon();
    throw error;
  }
  const totals = await writer.close();
  return {
    name: component,
    source,
    manifest: `manifests/${component}.jsonl`,
    manifestSha256: await hashFile(host.fs, file),
    ...totals,
  };
}

/**
 * The node's entry's identity, looked at after the copy ended: when it has not changed since before
 * the copy started (its ctime says so: any write, chmod, chown, relabel, link, rename, or entry
 * added to or removed from a directory moves it), the copy holds exactly what it holds now, and
 * so does the manifest line.
 */
function sourceIdentity(host: Host, sourcePath: Buffer, copied: EntryDescription, unchangedBefore: bigint): string | undefined {
  let stat;
  try {
    stat = host.fs.sync.lstatSync(sourcePath, { bigint: true });
  } catch {
    return undefined;
  }
  const same =
    typeOfStat(stat) === (copied.type === 'hardlink' ? 'file' : copied.type) &&
    stat.ctimeNs < unchangedBefore &&
    (stat.isFile() || stat.isSymbolicLink() ? Number(stat.size) : 0) === copied.size &&
    stat.mtimeNs.toString() === copied.mtimeNs &&
    Number(stat.mode & 0o7777n) === copied.mode &&
    Number(stat.uid) === copied.uid &&
    Number(stat.gid) === copied.gid;
  return same ? identityOf(stat) : undefined;
}
