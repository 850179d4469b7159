// Hard-link groups of a backup. The manifest marks only the later names of an inode (`hardlink`
// with `linkTo` the first name); the first name is a plain `file` line seen before them. Whether
// a group must be written again is known only once every name was seen, so the first name's
// decision waits: a quick pre-read of the manifest tells which files lead a group and how many
// names it has, and only group members are held back, never the whole tree.
import type { HostFs } from '../host/ports.js';
import type { ManifestEntry } from '../manifest/schema.js';
import { readManifest } from '../manifest/reader.js';
import { compareWalkOrder } from '../tree/walk.js';
import { groupNeedsRewrite, recordedLinkTo, type GroupMember, type Verdict } from './treeCompare.js';

export interface LinkGroupMember extends GroupMember {
  rel: Buffer;
  recorded: ManifestEntry;
  verdict: Verdict;
}

export interface SettledGroup {
  /** Names in walk order. */
  members: LinkGroupMember[];
  rewrite: boolean;
  /** Content hash of the inode (from the first name's line), when that line was seen. */
  sha256?: string;
}

/** First name of each group (bytes as latin1, a lossless key) -> number of names. */
export async function readLinkGroupSizes(fs: HostFs, manifest: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  await readManifest(fs, manifest, (entry) => {
    if (entry.type !== 'hardlink') return;
    const key = recordedLinkTo(entry)!.toString('latin1');
    sizes.set(key, (sizes.get(key) ?? 1) + 1);
  });
  return sizes;
}

export class LinkGroups {
  private readonly pending = new Map<string, LinkGroupMember[]>();

  constructor(private readonly sizes: Map<string, number>) {}

  /** The group an entry belongs to, if any. */
  groupOf(recorded: ManifestEntry, rel: Buffer): string | undefined {
    if (recorded.type === 'hardlink') return recordedLinkTo(recorded)!.toString('latin1');
    if (recorded.type !== 'file') return undefined;
    const key = rel.toString('latin1');
    return this.sizes.has(key) ? key : undefined;
  }

  /** Adds one name; returns the group once its last name is in. */
  add(key: string, member: LinkGroupMember): SettledGroup | undefined {
    const members = this.pending.get(key) ?? [];
    members.push(member);
    if (members.length < (this.sizes.get(key) ?? 1)) {
      this.pending.set(key, members);
      return undefined;
    }
    this.pending.delete(key);
    return settle(members);
  }

  /** Groups some names of which never came (a manifest whose linkTo names no file): settled as they are. */
  leftovers(): SettledGroup[] {
    const groups = [...this.pending.values()].map(settle);
    this.pending.clear();
    return groups;
  }
}

function settle(members: LinkGroupMember[]): SettledGroup {
  members.sort((a, b) => compareWalkOrder(a.rel, b.rel));
  const first = members.find((m) => m.recorded.type === 'file');
  return {
    members,
    rewrite: groupNeedsRewrite(members),
    ...(first?.recorded.sha256 ? { sha256: first.recorded.sha256 } : {}),
  };
}
