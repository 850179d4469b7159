// A Host whose filesystem is memfs and whose commands, clock and processes are fakes: for unit
// tests of the core's logic without touching the disk.
import { Volume, createFsFromVolume } from 'memfs';
import type { Archiver, CommandRunner, Host, HostFs, ProcessTable } from '../../src/host/ports.js';
import { NodeRoot } from '../../src/host/nodeRoot.js';

export function memHost(files: Record<string, string> = {}, options: { pid?: number; alive?: (pid: number) => boolean } = {}) {
  const volume = Volume.fromJSON(files);
  const memfs = createFsFromVolume(volume);
  const fs = { ...memfs.promises, sync: memfs } as unknown as HostFs;
  const calls: Array<{ command: string; args: readonly string[] }> = [];
  const runner: CommandRunner = {
    async run(command, args) {
      calls.push({ command, args });
      return { exitCode: 0, stdout: '', stderr: '' };
    },
  };
  const processes: ProcessTable = { ownPid: options.pid ?? 1000, isAlive: options.alive ?? (() => false) };
  const archiver: Archiver = { createTarGz: async () => undefined, list: async () => [], extract: async () => undefined };
  let now = Date.parse('2026-11-25T10:00:00Z');
  const host: Host = {
    fs,
    runner,
    clock: { now: () => new Date(now), sleep: async (ms) => void (now += ms) },
    processes,
    archiver,
    root: new NodeRoot('/'),
  };
  return { host, volume, calls };
}
