// What we read back about container images: crictl's JSON (validated, loosely: CRI-O adds fields
// across versions), an OCI image layout's index and manifest, and our own images/images.json.
import { z } from 'zod';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-character hex image ID');
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a sha256:<hex> digest');

/** `crictl ps -a -o json`: the image a container runs is named by `image.image` and `imageRef`. */
export const crictlContainersSchema = z.object({
  containers: z
    .array(
      z.looseObject({
        id: z.string(),
        metadata: z.looseObject({ name: z.string() }).optional(),
        image: z.looseObject({ image: z.string() }).nullish(),
        imageRef: z.string().nullish(),
      }),
    )
    .nullish(),
});

/** `crictl images -o json`: CRI-O gives the storage image ID (with or without `sha256:`). */
export const crictlImagesSchema = z.object({
  images: z
    .array(
      z.looseObject({
        id: z.string(),
        repoTags: z.array(z.string()).nullish(),
        repoDigests: z.array(z.string()).nullish(),
        // uint64 in the CRI protobuf: a string in its JSON.
        size: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).nullish(),
      }),
    )
    .nullish(),
});

const descriptor = z.looseObject({ mediaType: z.string().optional(), digest, size: z.number().int().min(0) });

export const ociIndexSchema = z.looseObject({ schemaVersion: z.literal(2), manifests: z.array(descriptor).min(1) });
export const ociManifestSchema = z.looseObject({ schemaVersion: z.literal(2), config: descriptor, layers: z.array(descriptor) });

export const IMAGES_FORMAT = 'upgrade-recovery/images';

export const savedImageSchema = z.object({
  /** The storage image ID: the digest of the image's config, which survives every copy. */
  id: hex64,
  /** Tags (`repo:tag`) the image had: given back to it when it is loaded. */
  names: z.array(z.string()),
  /** Digest references (`repo@sha256:...`) the node knew it by, for the operator. */
  repoDigests: z.array(z.string()),
  /** The manifest in the backup's OCI layout, checked again after the load. */
  manifestDigest: digest,
  configDigest: digest,
  /** Backup-relative OCI layout dir: images/<id>. */
  dir: z.string(),
  /** Bytes of the layout's blobs. */
  bytes: z.number().int().min(0),
  blobs: z.number().int().min(0),
});
export type SavedImage = z.infer<typeof savedImageSchema>;

export const storageConfigSchema = z.object({ driver: z.string(), graphroot: z.string(), runroot: z.string() });
export type StorageConfig = z.infer<typeof storageConfigSchema>;

export const imagesIndexSchema = z.object({
  format: z.literal(IMAGES_FORMAT),
  version: z.literal(1),
  /** The node's storage the images were read from. */
  storage: storageConfigSchema,
  include: z.array(z.string()),
  exclude: z.array(z.string()),
  images: z.array(savedImageSchema),
  /** Images in use that the patterns left out. */
  leftOut: z.array(z.object({ id: z.string(), names: z.array(z.string()) })),
});
export type ImagesIndex = z.infer<typeof imagesIndexSchema>;

/** What backup.json says about the images (the index itself is listed and hashed in `files`). */
export const imagesRecordSchema = z.object({ index: z.string(), count: z.number().int().min(0), bytes: z.number().int().min(0) });
export type ImagesRecord = z.infer<typeof imagesRecordSchema>;

export const IMAGES_DIR = 'images';
export const IMAGES_INDEX = 'images/images.json';
