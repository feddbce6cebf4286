import fs from 'node:fs';
import path from 'node:path';
import { PyUdfError } from '../errors.js';

/** An archive extracted into the workers' working directory, as `./targetDir`. */
export interface PythonArchive {
  readonly archivePath: string;
  readonly targetDir: string;
}

const FORMATS = ['.zip', '.tar', '.tar.gz', '.tgz'] as const;

export function checkArchive(archivePath: string, targetDir: string | undefined): PythonArchive {
  const resolved = path.resolve(archivePath);
  if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) {
    throw new PyUdfError('INVALID_ARGUMENT', `addPythonArchive: ${archivePath} is not a file`);
  }
  if (!FORMATS.some((f) => resolved.endsWith(f))) {
    throw new PyUdfError('INVALID_ARGUMENT', `addPythonArchive: ${archivePath} is not one of ${FORMATS.join(', ')}`);
  }
  const target = targetDir ?? path.basename(resolved).replace(/\.(zip|tar\.gz|tgz|tar)$/, '');
  if (target === '' || path.isAbsolute(target) || target.split(/[\\/]/).includes('..')) {
    throw new PyUdfError('INVALID_ARGUMENT', `addPythonArchive: target directory "${target}" must be a relative path inside the working directory`);
  }
  return Object.freeze({ archivePath: resolved, targetDir: target });
}

export async function extractArchives(archives: readonly PythonArchive[], workDir: string): Promise<void> {
  for (const archive of archives) {
    const target = path.join(workDir, archive.targetDir);
    fs.mkdirSync(target, { recursive: true });
    try {
      if (archive.archivePath.endsWith('.zip')) await (await import('extract-zip')).default(archive.archivePath, { dir: target });
      else await (await import('tar')).x({ file: archive.archivePath, cwd: target });
    } catch (error) {
      throw new PyUdfError('IO', `cannot extract ${archive.archivePath}: ${(error as Error).message}`, { cause: error });
    }
  }
}
