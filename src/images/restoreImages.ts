// The restore's image steps: one journal step per saved image, `skopeo copy oci:<backup>/images/<id>
// containers-storage:[...]<name>` for each of its names, then a check that storage has it with the
// saved manifest digest and its ID. A step redone after a crash, or an image already there, only
// checks.
//
// Where they run: in the cluster phase, after the reboot and `start-crio`, before the etcd restore
// and before kubelet comes back. Not right after `crio wipe -f` in the files phase: the reboot in
// between runs crio-wipe.service, which removes the whole image store after an unclean shutdown or
// a CRI-O version change (and the node was just rolled back to another CRI-O), so images loaded
// before it could be gone again. After the reboot CRI-O runs (it stays enabled), but kubelet is
// stopped and disabled, so nothing starts containers or pulls meanwhile; containers-storage is
// made for several processes at once (its lock files; TALM's pre-caching pulls into it the same
// way while CRI-O runs). cluster-restore.sh and kubelet then find the images without a registry.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import type { RestoreBackup, RestorePhase, RestoreStep, StepContext } from '../restore/context.js';
import { displayName } from './select.js';
import { inspectInStorage, readStorageConfig, skopeoFailure, storageReference } from './storage.js';
import { readImagesIndex } from './verifyImages.js';
import type { SavedImage, StorageConfig } from './schema.js';

/** The step the image steps follow. */
export const LOAD_IMAGES_AFTER = 'start-crio';

export function imageStepId(image: SavedImage): string {
  return `load-image-${image.id.slice(0, 12)}`;
}

/** The restore phases with one load step per saved image; the phases unchanged when none were saved. */
export async function withImageSteps(host: Host, backup: RestoreBackup, phases: readonly RestorePhase[]): Promise<readonly RestorePhase[]> {
  const record = backup.summary.images;
  if (!record) return phases;
  const index = await readImagesIndex(host, backup.paths, record);
  const steps = index.images.map((image) => loadStep(image));
  return phases.map((phase) => {
    if (phase.name !== 'cluster') return phase;
    const at = phase.steps.findIndex((s) => s.id === LOAD_IMAGES_AFTER);
    return { ...phase, steps: [...phase.steps.slice(0, at + 1), ...steps, ...phase.steps.slice(at + 1)] };
  });
}

/** The names an image is loaded under: its tags, and its digest references when the saved manifest still has that digest. */
export function loadTargets(image: SavedImage): string[] {
  const digested = image.repoDigests.filter((d) => d.endsWith(`@${image.manifestDigest}`));
  const names = [...image.names, ...digested];
  return names.length ? names : [`@${image.id}`];
}

function loadStep(image: SavedImage): RestoreStep {
  return {
    id: imageStepId(image),
    title: `Load the image ${displayName(image)} into CRI-O's storage`,
    permissive: true,
    run: (context) => loadImage(context, image),
    preview: async ({ backup }) =>
      loadTargets(image).map((name) => `would run: skopeo copy oci:${path.join(backup.paths.dir, image.dir)} containers-storage:${name} (unless it is there already)`),
  };
}

async function loadImage({ host, reporter, backup }: StepContext, image: SavedImage): Promise<Record<string, unknown>> {
  // Read now, not at backup time: /etc, and with it storage.conf, is the backup's again.
  const storage = await readStorageConfig(host);
  const targets = loadTargets(image);
  const byId = `@${image.id}`;
  const missing: string[] = [];
  for (const name of targets) if (!(await holds(host, storage, name, image))) missing.push(name);
  // An image with no name of its own is loaded by ID: that was looked at already.
  if (missing.length === 0 && (targets.includes(byId) || (await holds(host, storage, byId, image)))) {
    reporter.info(`${displayName(image)} is in storage already`);
    return { id: image.id, loaded: false };
  }
  const source = `oci:${path.join(backup.paths.dir, image.dir)}`;
  for (const name of missing.length ? missing : targets) {
    const result = await host.runner.run('skopeo', ['copy', '--quiet', source, storageReference(host, storage, name)]);
    if (result.exitCode !== 0) {
      throw new RecoveryError('failure', skopeoFailure(`loading the image ${displayName(image)} from ${image.dir}`, result), imageNext(image));
    }
  }
  for (const name of new Set([...targets, byId])) {
    const found = await inspectInStorage(host, storage, name);
    if (!found || found.manifestDigest !== image.manifestDigest || found.configDigest !== image.configDigest) {
      throw new RecoveryError(
        'failure',
        `the image ${displayName(image)} was loaded, but storage shows ${name} as ${found ? `manifest ${found.manifestDigest}, config ${found.configDigest}` : 'missing'} (expected ${image.manifestDigest}, ${image.configDigest})`,
        imageNext(image),
      );
    }
  }
  const byDigestOnly = image.repoDigests.filter((d) => !targets.includes(d));
  if (byDigestOnly.length) {
    reporter.warn(`${displayName(image)} is back under its ID${image.names.length ? ' and tags' : ''}, not as ${byDigestOnly[0]}: its manifest digest changed when it was saved, so a pod naming it by that digest needs a registry or mirror for it`);
  }
  return { id: image.id, loaded: true };
}

/**
 * Already there: the name resolves to an image with this ID (its config digest). The manifest
 * digest may differ (the image pulled again from a mirror, layers compressed otherwise): same content.
 */
async function holds(host: Host, storage: StorageConfig, name: string, image: SavedImage): Promise<boolean> {
  return (await inspectInStorage(host, storage, name))?.configDigest === image.configDigest;
}

function imageNext(image: SavedImage): string {
  return `check the backup: upgrade-recovery verify --data; then upgrade-recovery restore --resume (the step is redone). To go on without it: skopeo copy it from a registry or mirror into containers-storage:${image.names[0] ?? image.repoDigests[0] ?? `@${image.id}`}, then restore --resume`;
}
