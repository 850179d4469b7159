// Hard-link groups of a backup. The manifest marks only the later names of an inode (`hardlink`
// with `linkTo` the first name); the first name is a plain `file` line seen before them. Whether
// a group must be written again is known only once every name was seen, so the first name's
// decision waits: a quick pre-read of the manifest tells which files lead a group and how many
// names it has, and only group members are held back, never the whole tree.
import type { HostFs } from '../host/ports.js';
import { manifestEntrySchema, type ManifestEntry, type ManifestEntryKeys } from '../manifest/schema.js';
import { ManifestDamagedError, scanManifestLines } from '../manifest/reader.js';
import { compareWalkOrder } from '../tree/walk.js';
import { displayPath } from '../tree/pathBytes.js';
import { groupNeedsRewrite, recordedLinkTo, type GroupMember, type Verdict } from './treeCompare.js';

export interface LinkGroupMember extends GroupMember {
  rel: Buffer;
  recorded: ManifestEntry;
  /** Where its manifest line is (see PlannedWrite.line). */
  line: number;
  verdict: Verdict;
}

export interface SettledGroup {
  /** The group's first name in the backup (bytes as latin1). */
  key: string;
  /** Names in walk order. */
  members: LinkGroupMember[];
  rewrite: boolean;
  /** Content hash of the inode (from the first name's line), when that line was seen. */
  sha256?: string;
}

/**
 * First name of each group (bytes as latin1, a lossless key) -> number of names. Only the lines
 * that name a hard link are parsed: the planner's own pass over the manifest validates every line,
 * and checks that each hard link it meets was counted here (LinkGroups.groupOf).
 */
export async function readLinkGroupSizes(fs: HostFs, manifest: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  try {
    scanManifestLines(fs, manifest, '"hardlink"', (value) => {
      const parsed = manifestEntrySchema.safeParse(value);
      if (!parsed.success || parsed.data.type !== 'hardlink') return;
      const key = recordedLinkTo(parsed.data)!.toString('latin1');
      sizes.set(key, (sizes.get(key) ?? 1) + 1);
    });
  } catch (error) {
    // A missing manifest is reported by the planner's full read, with its usual message.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return sizes;
}

export class LinkGroups {
  private readonly pending = new Map<string, LinkGroupMember[]>();
  /** Names after the first that the pre-read counted and the planner has not met yet. */
  private readonly uncounted: Map<string, number>;

  constructor(
    private readonly sizes: Map<string, number>,
    private readonly manifest: string,
  ) {
    this.uncounted = new Map([...sizes].map(([key, names]) => [key, names - 1]));
  }

  /** The group an entry belongs to, if any. */
  groupOf(recorded: ManifestEntryKeys, rel: Buffer): string | undefined {
    if (recorded.type === 'hardlink') {
      const key = recordedLinkTo(recorded)!.toString('latin1');
      // Only a line spelled unlike our writer's (`"hardlink"` escaped) could escape the pre-read.
      const uncounted = this.uncounted.get(key);
      if (!uncounted) throw new ManifestDamagedError(this.manifest, `hard link ${displayPath(rel)} was not counted in its group`);
      this.uncounted.set(key, uncounted - 1);
      return key;
    }
    if (recorded.type !== 'file' || this.sizes.size === 0) return undefined;
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
    return settle(key, members);
  }

  /** Groups some names of which never came (a manifest whose linkTo names no file): settled as they are. */
  leftovers(): SettledGroup[] {
    const groups = [...this.pending].map(([key, members]) => settle(key, members));
    this.pending.clear();
    return groups;
  }
}

function settle(key: string, members: LinkGroupMember[]): SettledGroup {
  members.sort((a, b) => compareWalkOrder(a.rel, b.rel));
  const first = members.find((m) => m.recorded.type === 'file');
  return {
    key,
    members,
    rewrite: groupNeedsRewrite(members),
    ...(first?.recorded.sha256 ? { sha256: first.recorded.sha256 } : {}),
  };
}
