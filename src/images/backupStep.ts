// The backup runbook's `images` step (only with --images); backup.json lists its index (src/backup/runBackup.ts).
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import type { GenerationPaths } from '../backup/layout.js';
import { formatBytes } from '../backup/diskSpace.js';
import { saveImages, type ImageSelection } from './backupImages.js';
import { imagesRecordSchema, type ImagesRecord } from './schema.js';

interface ImagesStepContext {
  host: Host;
  reporter: Reporter;
  paths: GenerationPaths;
  options: { images?: ImageSelection };
}

export const IMAGES_STEP = {
  id: 'images',
  title: 'Save the container images in use into images/ (skopeo, OCI layouts)',
  enabled: (options: { images?: ImageSelection }) => options.images !== undefined,
  async run({ host, reporter, paths, options }: ImagesStepContext): Promise<ImagesRecord & { leftOut: number }> {
    const { record, leftOut } = await saveImages(host, reporter, paths.dir, options.images ?? { include: [], exclude: [] });
    return { ...record, leftOut };
  },
  describe(result: unknown): string {
    const r = imagesRecordSchema.extend({ leftOut: imagesRecordSchema.shape.count }).parse(result);
    return `${r.count} image(s), ${formatBytes(r.bytes)}${r.leftOut ? `; ${r.leftOut} left out by the patterns` : ''}`;
  },
};

