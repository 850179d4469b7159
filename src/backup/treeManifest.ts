// Writes the manifest of one component of a generation by describing what was copied (not the
// live source, which may have moved on), and returns its record for backup.json.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { describeTree } from '../tree/describe.js';
import { hashFile } from '../tree/hashFile.js';
import { ManifestWriter } from '../manifest/writer.js';
import type { GenerationPaths } from './layout.js';
import type { ComponentRecord } from './summary.js';
import type { TreeSize } from './diskSpace.js';

export async function writeTreeManifest(
  host: Host,
  reporter: Reporter,
  paths: GenerationPaths,
  component: string,
  source: string,
  expected: TreeSize,
): Promise<ComponentRecord> {
  const file = paths.manifest(component);
  const writer = await ManifestWriter.create(host.fs, file, component, host.clock.now());
  const progress = { files: 0, bytes: 0 };
  try {
    for await (const { description } of describeTree(host, paths.tree(component), {
      hash: true,
      onProgress: ({ files, bytes }) => {
        progress.files += files;
        progress.bytes += bytes;
        reporter.progress({ component, activity: 'hash', ...progress, totalFiles: expected.files, totalBytes: expected.bytes });
      },
    })) {
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
