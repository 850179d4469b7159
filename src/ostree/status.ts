// Parses `ostree admin status` into deployments. Pure: tested against recorded outputs.

export interface Deployment {
  /** Position in the status list: the index `ostree admin pin/undeploy` take. */
  index: number;
  osname: string;
  checksum: string;
  serial: number;
  booted: boolean;
  pinned: boolean;
  /** Markers printed after the name: rollback, staged, pending. */
  flags: string[];
  version?: string;
}

export type StatusParse = { ok: true; deployments: Deployment[] } | { ok: false; reason: string };

const HEADER = /^([* ]) (\S+) ([0-9a-f]{64})\.(\d+)((?: \([a-z]+\))*)\s*$/;

export function parseOstreeStatus(text: string): StatusParse {
  if (text.trim() === 'No deployments.') return { ok: true, deployments: [] };
  const deployments: Deployment[] = [];
  for (const [number, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const header = HEADER.exec(line);
    if (header) {
      deployments.push({
        index: deployments.length,
        booted: header[1] === '*',
        osname: header[2]!,
        checksum: header[3]!,
        serial: Number(header[4]),
        pinned: false,
        flags: [...(header[5] ?? '').matchAll(/\(([a-z]+)\)/g)].map((m) => m[1]!),
      });
      continue;
    }
    const current = deployments.at(-1);
    const detail = /^\s{4,}([A-Za-z][A-Za-z ]*):\s*(.*)$/.exec(line);
    if (!current || !detail) return { ok: false, reason: `unrecognised line ${number + 1}: ${line.trim()}` };
    const [, key, value] = detail;
    if (key === 'Pinned') current.pinned = value === 'yes';
    else if (key === 'Version') current.version = value!;
    // Other details (origin refspec, Unlocked, GPG...) do not change what we decide.
  }
  return { ok: true, deployments };
}
