// The check of a tree against its manifest when the tree is walked, and its files hashed, by
// another thread (HostFs.scanTree): this thread only reads the manifest and compares, the walk's
// lstats and the hashing (most of `verify --data`) run on the second core. What it reports is
// what src/manifest/verifyTree.ts reports, in the same order; that one runs where there is no such
// thread (memfs), and the tests run both.
import type { Host, ScanBatch, TreeScan } from '../host/ports.js';
import { pathField, type EntryDescription } from '../tree/describe.js';
import { joinPath } from '../tree/pathBytes.js';
import { compareWalkOrder, ROOT_REL } from '../tree/walk.js';
import { nextScanBatch } from '../tree/scanBatches.js';
import { readXattrs, XATTR_BATCH } from '../tree/xattrs.js';
import { entryPath, readManifest } from './reader.js';
import type { EntryType, ManifestEntry } from './schema.js';
import type { TreeCheck } from './verifyTree.js';

/** A live entry as the scan gave it. */
interface Scanned {
  rel: Buffer;
  abs: Buffer;
  description: EntryDescription;
  identity: string;
}

/** One step of the report, in walk order: a problem, or a comparison that may wait for getfattr. */
type Queued = { rel: Buffer; problem: string } | { rel: Buffer; recorded: ManifestEntry; actual: Scanned; readXattrs: boolean };

export async function verifyScanned(
  host: Host,
  treeDir: string,
  manifestFile: string,
  options: { data: boolean; onProgress?: (delta: { files: number; bytes: number }) => void },
  report: (path: Buffer, problem: string) => void,
  describeDifference: (recorded: ManifestEntry, actual: EntryDescription, data: boolean) => string | undefined,
): Promise<{ entries: number; linesDigest: string }> {
  // The other thread hashes each batch's files in inode order: what is verified may be cold on
  // disk (after a reboot, or long after the backup), and that order reads it about as fast as
  // sha256sum does in the order the directories list them.
  const scan = host.fs.scanTree!(treeDir, [], { hash: options.data, targets: true });
  const live = new ScannedEntries(scan, Buffer.from(treeDir), options);
  const queue: Queued[] = [];
  let entries = 0;
  const flush = async () => {
    const unknown = queue.flatMap((q) => ('recorded' in q && q.readXattrs ? [q] : []));
    const xattrs = unknown.length > 0 ? await readXattrs(host.fs, host.runner, unknown.map((q) => q.actual.abs)) : [];
    unknown.forEach((q, i) => {
      const read = xattrs[i] ?? {};
      if (Object.keys(read).length > 0) q.actual.description.xattrs = read;
    });
    for (const q of queue.splice(0)) {
      if ('problem' in q) report(q.rel, q.problem);
      else {
        const difference = describeDifference(q.recorded, q.actual.description, options.data);
        if (difference) report(q.rel, difference);
      }
    }
  };
  try {
    const { footer } = await readManifest(host.fs, manifestFile, async (recorded) => {
      entries += 1;
      const rel = entryPath(recorded);
      let current = await live.current();
      // Entries on disk that sort before this one are not in the manifest.
      while (current && compareWalkOrder(current.rel, rel) < 0) {
        queue.push({ rel: current.rel, problem: 'not in the manifest' });
        current = await live.advance();
      }
      if (!current || compareWalkOrder(current.rel, rel) > 0) queue.push({ rel, problem: 'missing' });
      else {
        // The backup's copy vouches for its own xattrs while it keeps the identity it had when described.
        const vouched = recorded.copyIdentity !== undefined && recorded.copyIdentity === current.identity;
        if (vouched && recorded.xattrs) current.description.xattrs = recorded.xattrs;
        queue.push({ rel, recorded, actual: current, readXattrs: !vouched });
        await live.advance();
      }
      if (queue.length >= XATTR_BATCH) await flush();
    });
    for (let current = await live.current(); current; current = await live.advance()) queue.push({ rel: current.rel, problem: 'not in the manifest' });
    await flush();
    return { entries, linesDigest: footer.digest };
  } finally {
    await scan.close();
  }
}

/** The scan's entries one at a time, described as the manifest describes them. */
class ScannedEntries {
  private batch: ScanBatch | undefined;
  private index = 0;
  /** The entry at `index`, described once (its hard-link group is decided when it is first seen). */
  private described: Scanned | undefined;
  private started = false;
  private ended = false;
  private readonly firstPathOfInode = new Map<string, Buffer>();

  constructor(
    private readonly scan: TreeScan,
    private readonly root: Buffer,
    private readonly options: { onProgress?: (delta: { files: number; bytes: number }) => void },
  ) {}

  async current(): Promise<Scanned | undefined> {
    if (!this.started) {
      this.started = true;
      await this.load();
    }
    if (this.ended) return undefined;
    this.described ??= this.at(this.index);
    return this.described;
  }

  async advance(): Promise<Scanned | undefined> {
    this.index += 1;
    this.described = undefined;
    if (this.batch && this.index >= this.batch.rels.length) await this.load();
    return this.current();
  }

  private async load(): Promise<void> {
    const batch = await nextScanBatch(this.scan);
    this.batch = batch;
    this.index = 0;
    if (!batch || batch.rels.length === 0) {
      this.ended = true;
      return;
    }
    const hashed = batch.sha256s.filter((h) => h !== null).length;
    if (hashed > 0) this.options.onProgress?.({ files: hashed, bytes: batch.sizes.reduce((sum, size, i) => sum + (batch.sha256s[i] !== null ? size : 0), 0) });
  }

  private at(i: number): Scanned {
    const b = this.batch!;
    const rel = b.rels[i] === '.' ? ROOT_REL : Buffer.from(b.rels[i]!, 'latin1');
    const type = b.types[i] as Exclude<EntryType, 'hardlink'>;
    const description: EntryDescription = { ...pathField('path', rel), type, mode: b.modes[i]!, uid: b.uids[i]!, gid: b.gids[i]!, size: b.sizes[i]!, mtimeNs: b.mtimes[i]! };
    if (type === 'char' || type === 'block') description.rdev = b.rdevs[i]!;
    if (type === 'file' && b.nlinks[i]! > 1) {
      const first = this.firstPathOfInode.get(b.inodes[i]!);
      if (first) {
        description.type = 'hardlink';
        Object.assign(description, pathField('linkTo', first));
      } else {
        this.firstPathOfInode.set(b.inodes[i]!, rel);
      }
    }
    const target = b.targets[i];
    if (target !== null && target !== undefined) Object.assign(description, pathField('target', Buffer.from(target, 'latin1')));
    const sha256 = b.sha256s[i];
    if (sha256 !== null && sha256 !== undefined) description.sha256 = sha256;
    return { rel, abs: rel === ROOT_REL ? this.root : joinPath(this.root, rel), description, identity: b.identities[i]! };
  }
}
