// `backup --images [--images-include PATTERN]... [--images-exclude PATTERN]...` into the core's selection.
import { Command } from 'commander';
import { RecoveryError } from '../core/errors.js';
import type { ImageSelection } from '../images/backupImages.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function withImageFlags(command: Command): Command {
  return command
    .option('--images', 'also save the container images in use into images/ (skopeo, OCI layouts)', false)
    .option('--images-include <pattern>', 'with --images: only images with a name matching this glob (* any characters, ? one; repeatable)', collect, [])
    .option('--images-exclude <pattern>', 'with --images: leave out images with a name matching this glob (repeatable)', collect, []);
}

export function imageSelection(flags: Record<string, unknown>): ImageSelection | undefined {
  const include = (flags.imagesInclude as string[] | undefined) ?? [];
  const exclude = (flags.imagesExclude as string[] | undefined) ?? [];
  if (!flags.images) {
    if (include.length || exclude.length) throw new RecoveryError('usage', '--images-include and --images-exclude narrow --images: add --images');
    return undefined;
  }
  for (const pattern of [...include, ...exclude]) {
    if (pattern.trim() === '') throw new RecoveryError('usage', 'an empty --images-include/--images-exclude pattern matches nothing useful');
  }
  return { include, exclude };
}
