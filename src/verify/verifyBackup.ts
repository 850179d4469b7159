// Checks the current backup against its manifests: structure and sizes always, every byte with
// `data`. Used by `verify` and (later) before a restore touches anything.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { hashFile } from '../tree/hashFile.js';
import { verifyTreeAgainstManifest, type TreeProblem } from '../manifest/verifyTree.js';
import { BackupLayout } from '../backup/layout.js';
import { explainMissingBackup, readCurrentBackup } from '../backup/store.js';
import type { BackupSummary } from '../backup/summary.js';
import { writeVerdictRecord } from './verdictRecord.js';
import { verifyImagesStep } from '../images/verifyImages.js';

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
}

export async function verifyBackup(host: Host, reporter: Reporter, dir: string, data: boolean, options: VerifyOptions = {}): Promise<BackupVerdict> {
  const layout = new BackupLayout(dir);
  const current = await readCurrentBackup(host, layout);
  if (!current) throw await explainMissingBackup(host, layout, 'upgrade-recovery backup');
  const { paths, summary } = current;
  const components: ComponentVerdict[] = [];
  const skipped = summary.components.filter((c) => options.skip?.includes(c.name));
  if (skipped.length > 0) reporter.info(`Not checked again: ${skipped.map((c) => `${c.name}/`).join(', ')} (already restored by this restore)`);
  for (const component of summary.components) {
    if (skipped.includes(component)) continue;
    reporter.stepStart(`verify-${component.name}`, `Check ${component.name}/ against its manifest${data ? ', every byte' : ''}`);
    const manifestFile = path.join(paths.dir, component.manifest);
    const problems: TreeProblem[] = [];
    const manifestHash = await hashFile(host.fs, manifestFile).catch(() => undefined);
    if (manifestHash !== component.manifestSha256) {
      problems.push({ path: component.manifest, problem: manifestHash ? 'manifest changed since the backup' : 'manifest missing' });
    }
    const progress = { files: 0, bytes: 0 };
    const check = problems.length
      ? { entries: 0, problems: [], moreProblems: 0 }
      : await verifyTreeAgainstManifest(host, paths.tree(component.name), manifestFile, {
          data,
          expectedEntries: component.entries,
          onProgress: ({ files, bytes }) => {
            progress.files += files;
            progress.bytes += bytes;
            reporter.progress({ component: component.name, activity: 'hash', ...progress, totalFiles: component.files, totalBytes: component.bytes });
          },
        }).catch((error: unknown) => {
          if (error instanceof RecoveryError) return { entries: 0, problems: [{ path: component.manifest, problem: error.message }], moreProblems: 0 };
          throw error;
        });
    const verdict = { name: component.name, entries: check.entries, problems: [...problems, ...check.problems], moreProblems: check.moreProblems };
    components.push(verdict);
    const bad = verdict.problems.length + verdict.moreProblems;
    reporter.stepEnd(`verify-${component.name}`, bad ? 'failed' : 'done', bad ? `${bad} problem(s)` : `${check.entries} entries`);
  }
  reporter.stepStart('verify-files', 'Check extras.tgz, etc.exclude.list and the tool copy');
  const fileProblems: TreeProblem[] = [];
  for (const file of summary.files) {
    const full = path.join(paths.dir, file.name);
    const stat = await host.fs.stat(full).catch(() => undefined);
    if (!stat) fileProblems.push({ path: file.name, problem: 'missing' });
    else if (stat.size !== file.size) fileProblems.push({ path: file.name, problem: `size ${stat.size}, expected ${file.size}` });
    else if (data && (await hashFile(host.fs, full)) !== file.sha256) fileProblems.push({ path: file.name, problem: 'content differs from its SHA-256' });
  }
  components.push({ name: 'files', entries: summary.files.length, problems: fileProblems, moreProblems: 0 });
  reporter.stepEnd('verify-files', fileProblems.length ? 'failed' : 'done');
  if (summary.images) components.push(await verifyImagesStep(host, reporter, paths, summary.images, data || options.imageData === true));
  const ok = components.every((c) => c.problems.length === 0 && c.moreProblems === 0);
  const problems = components.reduce((n, c) => n + c.problems.length + c.moreProblems, 0);
  // Best effort: a read-only backup dir still verifies, it just cannot remember it. A check of
  // part of the backup says nothing of the whole.
  if (skipped.length === 0) await writeVerdictRecord(host, paths, { at: host.clock.now().toISOString(), data, ok, problems }).catch(() => undefined);
  return { id: current.id, generation: paths.dir, data, ok, components, summary };
}
