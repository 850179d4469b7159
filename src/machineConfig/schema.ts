// The part of a MachineConfig (/etc/machine-config-daemon/currentconfig) that we rely on: the
// files it manages. Everything else is allowed through untouched.
import { z } from 'zod';

export const machineConfigSchema = z.looseObject({
  kind: z.literal('MachineConfig').optional(),
  spec: z.looseObject({
    config: z.looseObject({
      storage: z
        .looseObject({
          files: z.array(z.looseObject({ path: z.string().startsWith('/') })).optional(),
        })
        .optional(),
    }),
  }),
});

export type MachineConfig = z.infer<typeof machineConfigSchema>;

export function managedFilePaths(config: MachineConfig): string[] {
  return (config.spec.config.storage?.files ?? []).map((f) => f.path);
}
