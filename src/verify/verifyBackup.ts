// Checks the current backup against its manifests: structure and sizes always, every byte with
// `data`. Used by `verify` and (later) before a restore touches anything.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { ProgressEvent, Reporter } from '../core/reporter.js';
import { Slots } from '../core/slots.js';
import { RecoveryError } from '../core/errors.js';
import { hashFile } from '../tree/hashFile.js';
import { verifyTreeAgainstManifest, type TreeProblem } from '../manifest/verifyTree.js';
import { BackupLayout } from '../backup/layout.js';
import { explainMissingBackup, readCurrentBackup } from '../backup/store.js';
import type { BackupSummary } from '../backup/summary.js';
import { writeVerdictRecord } from './verdictRecord.js';
import { verifyImagesStep } from '../images/verifyImages.js';
import { awaitedLater } from '../core/awaitedLater.js';

export interface ComponentVerdict {
  name: string;
  entries: number;
  problems: TreeProblem[];
  moreProblems: number;
}

export interface BackupVerdict {
  id: string;
  generation: string;
  data: boolean;
  ok: boolean;
  components: ComponentVerdict[];
  summary: BackupSummary;
}

export interface VerifyOptions {
  /** Hash the saved images' blobs even without `data` (a restore, before its first change). */
  imageData?: boolean;
  /** Components not to check (a resumed restore: the trees it has already put back). */
  skip?: readonly string[];
  /** Told the digest of each manifest read to its end with every line checked whole (a restore's plan can then trust those lines). */
  onManifestChecked?: (component: string, linesDigest: string) => void;
}

export async function verifyBackup(host: Host, reporter: Reporter, dir: string, data: boolean, options: VerifyOptions = {}): Promise<BackupVerdict> {
  const layout = new BackupLayout(dir);
  const current = await readCurrentBackup(host, layout);
  if (!current) throw await explainMissingBackup(host, layout, 'upgrade-recovery backup');
  const { paths, summary } = current;
  const components: ComponentVerdict[] = [];
  const skipped = summary.components.filter((c) => options.skip?.includes(c.name));
  if (skipped.length > 0) reporter.info(`Not checked again: ${skipped.map((c) => `${c.name}/`).join(', ')} (already restored by this restore)`);
  const toCheck = summary.components.filter((component) => !skipped.includes(component));
  // Two checks at a time: one component's walk and hashing in another thread while this thread
  // compares, hashes a small component or the tool copy (a warm verify was 3.5 s one at a time,
  // with a core idle for much of it). One at a time for big backups, where two walks' batches
  // would count against the memory a restore may use.
  const entries = toCheck.reduce((n, c) => n + c.entries, 0);
  const slots = new Slots(entries <= CONCURRENT_MAX_ENTRIES ? 2 : 1);
  let reporting: string | undefined;
  // Awaited below, in order.
  const checks = toCheck.map((component) =>
    awaitedLater(
      slots.use(() =>
        checkComponent(host, paths.dir, paths.tree(component.name), component, data, (progress) => {
          // Progress is shown for the step on screen; a check ahead of it just runs.
          if (reporting === component.name) reporter.progress(progress);
        }).then(({ linesDigest, ...verdict }) => {
          if (linesDigest !== undefined) options.onManifestChecked?.(component.name, linesDigest);
          return verdict;
        }),
      ),
    ),
  );
  const filesCheck = awaitedLater(slots.use(() => checkFiles(host, paths.dir, summary.files, data)));
  try {
    for (const [index, component] of toCheck.entries()) {
      reporter.stepStart(`verify-${component.name}`, `Check ${component.name}/ against its manifest${data ? ', every byte' : ''}`);
      reporting = component.name;
      const verdict = await checks[index]!;
      components.push(verdict);
      const bad = verdict.problems.length + verdict.moreProblems;
      reporter.stepEnd(`verify-${component.name}`, bad ? 'failed' : 'done', bad ? `${bad} problem(s)` : `${verdict.entries} entries`);
    }
    reporting = undefined;
    reporter.stepStart('verify-files', 'Check extras.tgz, etc.exclude.list and the tool copy');
    const fileProblems = await filesCheck;
    components.push({ name: 'files', entries: summary.files.length, problems: fileProblems, moreProblems: 0 });
    reporter.stepEnd('verify-files', fileProblems.length ? 'failed' : 'done');
  } finally {
    // Nothing of this verify goes on reading the backup after it returns or throws.
    await Promise.allSettled([...checks, filesCheck]);
  }
  if (summary.images) components.push(await verifyImagesStep(host, reporter, paths, summary.images, data || options.imageData === true));
  const ok = components.every((c) => c.problems.length === 0 && c.moreProblems === 0);
  const problems = components.reduce((n, c) => n + c.problems.length + c.moreProblems, 0);
  // Best effort: a read-only backup dir still verifies, it just cannot remember it. A check of
  // part of the backup says nothing of the whole.
  if (skipped.length === 0) await writeVerdictRecord(host, paths, { at: host.clock.now().toISOString(), data, ok, problems }).catch(() => undefined);
  return { id: current.id, generation: paths.dir, data, ok, components, summary };
}

/** Above this many entries in all, components are checked one at a time (see verifyBackup). */
const CONCURRENT_MAX_ENTRIES = 200_000;

/** One component against its manifest, after the manifest against its SHA-256 in backup.json. */
async function checkComponent(
  host: Host,
  dir: string,
  treeDir: string,
  component: BackupSummary['components'][number],
  data: boolean,
  onProgress: (event: ProgressEvent) => void,
): Promise<ComponentVerdict & { linesDigest?: string }> {
  const manifestFile = path.join(dir, component.manifest);
  const manifestHash = await hashFile(host.fs, manifestFile).catch(() => undefined);
  if (manifestHash !== component.manifestSha256) {
    const problem = manifestHash ? 'manifest changed since the backup' : 'manifest missing';
    return { name: component.name, entries: 0, problems: [{ path: component.manifest, problem }], moreProblems: 0 };
  }
  const progress = { files: 0, bytes: 0 };
  const check = await verifyTreeAgainstManifest(host, treeDir, manifestFile, {
    data,
    expectedEntries: component.entries,
    onProgress: ({ files, bytes }) => {
      progress.files += files;
      progress.bytes += bytes;
      onProgress({ component: component.name, activity: 'hash', ...progress, totalFiles: component.files, totalBytes: component.bytes });
    },
  }).catch((error: unknown) => {
    if (error instanceof RecoveryError) return { entries: 0, problems: [{ path: component.manifest, problem: error.message }], moreProblems: 0 };
    throw error;
  });
  return { name: component.name, ...check };
}

/** The backup's single files (extras.tgz, the exclude list, the tool copy): size, and bytes with `data`. */
async function checkFiles(host: Host, dir: string, files: BackupSummary['files'], data: boolean): Promise<TreeProblem[]> {
  const problems: TreeProblem[] = [];
  for (const file of files) {
    const full = path.join(dir, file.name);
    const stat = await host.fs.stat(full).catch(() => undefined);
    if (!stat) problems.push({ path: file.name, problem: 'missing' });
    else if (stat.size !== file.size) problems.push({ path: file.name, problem: `size ${stat.size}, expected ${file.size}` });
    else if (data && (await hashFile(host.fs, full)) !== file.sha256) problems.push({ path: file.name, problem: 'content differs from its SHA-256' });
  }
  return problems;
}
