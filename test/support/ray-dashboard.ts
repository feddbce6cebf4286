// A Python that can run Ray's dashboard, for the tests of the Jobs REST API
// path: a virtualenv layered on the Ray runtime (its packages through a .pth
// file) with ray[default]'s extra packages installed on top. Those extras
// (aiohttp_cors, opencensus, ...) are not on every package index; a directory
// of their wheels can be named in PYUDF_TEST_RAY_DASHBOARD_WHEELS. Where they
// cannot be had, the REST tests say so and do not run.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export type DashboardPython = { readonly python: string } | { readonly unavailable: string };

export async function dashboardPython(rayPython: string, dir: string): Promise<DashboardPython> {
  const probe = await execa(rayPython, ['-c', 'import ray, sysconfig; print(ray.__version__); print(sysconfig.get_paths()["purelib"])']);
  const [version, purelib] = probe.stdout.trim().split('\n');
  const venv = path.join(dir, 'ray-dashboard-venv');
  const base = await execa(rayPython, ['-c', 'import sys; print(sys._base_executable)']);
  await execa(base.stdout.trim(), ['-m', 'venv', venv]);
  const python = path.join(venv, 'bin', 'python');
  const own = (await execa(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'])).stdout.trim();
  fs.writeFileSync(path.join(own, 'pyudf_ray_runtime.pth'), `${purelib}\n`);
  const wheels = process.env.PYUDF_TEST_RAY_DASHBOARD_WHEELS;
  const install = await execa(python, [
    '-m', 'pip', 'install', '--retries', '0', '--disable-pip-version-check', '--quiet',
    ...(wheels ? ['--find-links', wheels] : []), `ray[default]==${version}`,
  ], { reject: false, timeout: 300_000 });
  if (install.exitCode !== 0) {
    const reason = install.stderr.split('\n').filter((l) => l.startsWith('ERROR:')).join(' ') || install.stderr.slice(-500);
    return { unavailable: `ray[default]==${version} cannot be installed here (${reason.trim()})` };
  }
  const check = await execa(python, ['-c', 'import ray.dashboard.optional_deps'], { reject: false });
  if (check.exitCode !== 0) return { unavailable: `Ray's dashboard cannot load: ${check.stderr.trim().split('\n').pop()}` };
  return { python };
}
