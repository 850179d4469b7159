export { formatBytes } from '../backup/diskSpace.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Seconds left at the average rate so far; undefined until there is a rate to speak of. */
export function estimateRemaining(done: number, total: number | undefined, elapsedMs: number): number | undefined {
  if (!total || done <= 0 || elapsedMs < 1000) return undefined;
  return ((total - done) / done) * (elapsedMs / 1000);
}
