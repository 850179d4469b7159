// The last verification of a generation, kept beside it (verify.json) so that `status` can say
// whether, when and how deeply the backup was checked. Not part of the backup's own content.
import path from 'node:path';
import { z } from 'zod';
import type { Host } from '../host/ports.js';
import type { GenerationPaths } from '../backup/layout.js';
import { writeFileDurably } from '../host/durable.js';

const verdictRecordSchema = z.object({ at: z.string(), data: z.boolean(), ok: z.boolean(), problems: z.number().int().min(0) });
export type VerdictRecord = z.infer<typeof verdictRecordSchema>;

const fileOf = (paths: GenerationPaths) => path.join(paths.dir, 'verify.json');

export async function writeVerdictRecord(host: Host, paths: GenerationPaths, record: VerdictRecord): Promise<void> {
  await writeFileDurably(host.fs, fileOf(paths), `${JSON.stringify(record)}\n`, 0o600);
}

/** The record, or undefined when there is none or it does not validate (then it says nothing). */
export async function readVerdictRecord(host: Host, paths: GenerationPaths): Promise<VerdictRecord | undefined> {
  try {
    const parsed = verdictRecordSchema.safeParse(JSON.parse(await host.fs.readFile(fileOf(paths), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
