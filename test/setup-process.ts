// signal-exit (used by execa and proper-lockfile) keeps its emitter on
// `process.__signal_exit_emitter__` and wraps `process.emit`, an own property
// from then on where it was inherited before. jest's ESM linking lists a core
// module's own keys when a test file imports it and sets them when it
// evaluates: a key added in between fails the file with "Export 'emit' is not
// defined in module". Every key signal-exit adds exists before anything loads.
const sandboxProcess = process as unknown as Record<string, unknown>;
if (!('__signal_exit_emitter__' in sandboxProcess)) sandboxProcess.__signal_exit_emitter__ = undefined;
if (!Object.prototype.hasOwnProperty.call(sandboxProcess, 'emit')) sandboxProcess.emit = process.emit;
