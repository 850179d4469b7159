// Which images a backup saves: those a container on the node uses (running or not), once each by
// image ID, narrowed by the operator's include/exclude patterns. Pure: tested on recorded output.
import type { z } from 'zod';
import type { crictlContainersSchema, crictlImagesSchema } from './schema.js';

export interface NodeImage {
  id: string;
  /** `repo:tag` names. */
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

type Containers = z.infer<typeof crictlContainersSchema>;
type Images = z.infer<typeof crictlImagesSchema>;

const bareId = (id: string) => id.replace(/^sha256:/, '');

/**
 * The images the containers use. A container names its image by ID, by tag or by digest
 * depending on the CRI-O version (`image.image`, `imageRef`): any of them finds it.
 * Returns the images in use and the references no image answers to.
 */
export function imagesInUse(containers: Containers, images: Images): { used: NodeImage[]; unknown: string[] } {
  const all: NodeImage[] = (images.images ?? []).map((i) => ({
    id: bareId(i.id),
    repoTags: i.repoTags ?? [],
    repoDigests: i.repoDigests ?? [],
    size: Number(i.size ?? 0),
  }));
  const byReference = new Map<string, NodeImage>();
  for (const image of all) {
    for (const key of [image.id, `sha256:${image.id}`, ...image.repoTags, ...image.repoDigests]) byReference.set(key, image);
  }
  const used = new Map<string, NodeImage>();
  const unknown = new Set<string>();
  for (const container of containers.containers ?? []) {
    const references = [container.image?.image, container.imageRef].filter((r): r is string => Boolean(r));
    const found = references.map((r) => byReference.get(r) ?? byIdPrefix(all, r)).find(Boolean);
    if (found) used.set(found.id, found);
    else if (references[0]) unknown.add(references[0]);
  }
  return { used: [...used.values()].sort((a, b) => a.id.localeCompare(b.id)), unknown: [...unknown].sort() };
}

function byIdPrefix(all: NodeImage[], reference: string): NodeImage | undefined {
  const id = bareId(reference);
  if (!/^[0-9a-f]{12,64}$/.test(id)) return undefined;
  const matches = all.filter((i) => i.id.startsWith(id));
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * A glob over a whole image name: `*` is any run of characters (`/` and `:` included), `?` is one
 * character, everything else is itself. `quay.io/openshift-release-dev/*`, `*:latest`, `*@sha256:ab*`.
 */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

/** The names a pattern is tried on: every tag, every digest reference, and the ID. */
export function namesOf(image: NodeImage): string[] {
  return [...image.repoTags, ...image.repoDigests, image.id, `sha256:${image.id}`];
}

/** Kept: matches an include (or there are none) and no exclude. */
export function filterImages(images: readonly NodeImage[], include: readonly string[], exclude: readonly string[]): { kept: NodeImage[]; leftOut: NodeImage[] } {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  const kept: NodeImage[] = [];
  const leftOut: NodeImage[] = [];
  for (const image of images) {
    const names = namesOf(image);
    const included = inc.length === 0 || names.some((n) => inc.some((r) => r.test(n)));
    const excluded = names.some((n) => exc.some((r) => r.test(n)));
    (included && !excluded ? kept : leftOut).push(image);
  }
  return { kept, leftOut };
}

/** A name for messages: the first tag, else the first digest reference, else the short ID. */
export function displayName(image: { id: string; names?: string[]; repoTags?: string[]; repoDigests: string[] }): string {
  const tags = image.names ?? image.repoTags ?? [];
  return `${tags[0] ?? image.repoDigests[0] ?? 'an untagged image'} (${image.id.slice(0, 12)})`;
}
