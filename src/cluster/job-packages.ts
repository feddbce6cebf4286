import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';

/** A directory as Ray ships it in a runtime_env: a zip named by its content. */
export interface JobPackage {
  /** "_ray_pkg_<hash>.zip": the same content gets the same name, so a cluster that holds it is not sent it again. */
  readonly name: string;
  readonly zip: Uint8Array;
}

/**
 * Zips `dir` the way Ray unpacks a package it holds (GCS packages are
 * unpacked as they are): its files at the top for a working_dir, or under
 * `prefix` ("pyudf/") for a py_modules entry. Bytecode caches stay out.
 */
export function packageDirectory(dir: string, prefix = ''): JobPackage {
  const files: Zippable = {};
  const hash = crypto.createHash('sha256');
  const walk = (from: string, into: string) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === '__pycache__' || entry.name.endsWith('.pyc')) continue;
      const source = path.join(from, entry.name);
      const name = into + entry.name;
      const stat = fs.statSync(source);
      if (stat.isDirectory()) {
        walk(source, `${name}/`);
      } else if (stat.isFile()) {
        const data = fs.readFileSync(source);
        files[name] = [data, { level: isCompressed(name) ? 0 : 6, mtime: new Date(1980, 0, 1) }];
        hash.update(`${name}\0${data.length}\0`).update(data);
      }
    }
  };
  walk(dir, prefix);
  return { name: `_ray_pkg_${hash.digest('hex').slice(0, 32)}.zip`, zip: zipSync(files) };
}

function isCompressed(name: string): boolean {
  return /\.(whl|zip|gz|tgz|parquet)$/i.test(name);
}
