// Set by esbuild when the bundle is built (scripts/build-bundle.mjs); absent when run from source.
declare const __UPGRADE_RECOVERY_VERSION__: string | undefined;

export const TOOL_VERSION: string =
  typeof __UPGRADE_RECOVERY_VERSION__ === 'string' ? __UPGRADE_RECOVERY_VERSION__ : '0.0.0-source';
