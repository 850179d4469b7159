// The manifest: one JSON Lines file per backed-up component. A header, one line per entry in
// byte order of path, then a footer whose digest covers every line before it. A file without a
// valid footer is incomplete by definition, so a partial manifest can never pass as a whole one.
import { z } from 'zod';

export const MANIFEST_FORMAT = 'upgrade-recovery/manifest';
export const MANIFEST_VERSION = 1;

export const entryTypes = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo', 'socket'] as const;
export type EntryType = (typeof entryTypes)[number];

const decimal = z.string().regex(/^-?\d+$/, 'a decimal integer string');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest');

export const manifestHeaderSchema = z.object({
  kind: z.literal('header'),
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  component: z.string().min(1),
  createdAt: z.string(),
});

export const manifestEntrySchema = z
  .object({
    kind: z.literal('entry'),
    /** Path relative to the component's root, '.' for the root itself; pathB64 when not UTF-8. */
    path: z.string().optional(),
    pathB64: z.string().optional(),
    type: z.enum(entryTypes),
    /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
    mode: z.number().int().min(0).max(0o7777),
    uid: z.number().int().min(0),
    gid: z.number().int().min(0),
    size: z.number().int().min(0),
    mtimeNs: decimal,
    sha256: sha256.optional(),
    target: z.string().optional(),
    targetB64: z.string().optional(),
    /** For a hard link: the path of the first entry with the same inode. */
    linkTo: z.string().optional(),
    linkToB64: z.string().optional(),
    rdev: z.number().int().min(0).optional(),
    /** Extended attributes, values base64 (security.selinux, system.posix_acl_access, user.*...). */
    xattrs: z.record(z.string(), z.string()).optional(),
    /**
     * `dev:ino:ctimeNs` of the node's own entry, recorded when it did not change while it was
     * copied (git's index idea): a live entry with the same identity has not been touched since
     * (content, owner, mode, xattrs), so a restore knows it is right without reading it. Absent
     * when that could not be vouched for.
     */
    identity: z.string().regex(/^\d+:\d+:-?\d+$/, 'dev:ino:ctimeNs').optional(),
    /**
     * `dev:ino:ctimeNs` of the backup's own copy of the entry when it was described: while the
     * copy keeps it, its xattrs are the ones recorded here (any change would have moved its
     * ctime), so a check of the backup need not read them again. Absent in older manifests.
     */
    copyIdentity: z.string().regex(/^\d+:\d+:-?\d+$/, 'copyIdentity is not dev:ino:ctimeNs').optional(),
  })
  .refine((e) => (e.path === undefined) !== (e.pathB64 === undefined), 'exactly one of path, pathB64')
  .refine((e) => e.type !== 'file' || e.sha256 !== undefined, 'a file needs its sha256')
  .refine((e) => e.type !== 'symlink' || (e.target === undefined) !== (e.targetB64 === undefined), 'a symlink needs its target')
  .refine((e) => e.type !== 'hardlink' || (e.linkTo === undefined) !== (e.linkToB64 === undefined), 'a hard link needs linkTo');

/**
 * What a restore plan reads of every line to place and identify its entry: its path, type, size,
 * mtime, identity and hard-link group. A plan checks each line for these (most entries are matched and
 * found untouched, nothing more), and any line it uses further whole, with manifestEntrySchema;
 * verify checks every line whole.
 */
export const manifestEntryKeysSchema = z.object({
  kind: z.literal('entry'),
  path: z.string().optional(),
  pathB64: z.string().optional(),
  type: z.enum(entryTypes),
  size: z.number(),
  mtimeNs: z.string(),
  identity: z.string().optional(),
  linkTo: z.string().optional(),
  linkToB64: z.string().optional(),
});

export const manifestFooterSchema = z.object({
  kind: z.literal('footer'),
  entries: z.number().int().min(0),
  files: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** SHA-256 of every byte of the file before this line. */
  digest: sha256,
});

export const manifestLineSchema = z.discriminatedUnion('kind', [
  manifestHeaderSchema,
  manifestEntrySchema,
  manifestFooterSchema,
]);

export type ManifestHeader = z.infer<typeof manifestHeaderSchema>;
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;
export type ManifestEntryKeys = z.infer<typeof manifestEntryKeysSchema>;
export type ManifestFooter = z.infer<typeof manifestFooterSchema>;
