/** SHA-256 of a file's bytes, cached by path, size and mtime: CSV data is hashed into trial keys and re-checked before training. */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const known = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/** Hex SHA-256 of the file; reads it again only when its size or mtime changed. Throws as statSync/readFileSync do. */
export function fileSha256(path: string): string {
  const st = statSync(path);
  const hit = known.get(path);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  known.set(path, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return sha256;
}
