// Writes dist/index.cjs, the package's `require` entry point. It loads the one ESM build
// through Node's require() of ES modules (Node >= 20.19) rather than shipping a second,
// CommonJS build: two builds would make two copies of every class, and a DataType made by
// one would fail the other's instanceof checks (the dual-package hazard).
import fs from 'node:fs';

fs.writeFileSync(new URL('../dist/index.cjs', import.meta.url), `'use strict';
// CommonJS entry point: pyudf is an ES module, which Node (>= 20.19) loads with require().
module.exports = require('./index.js');
`);
