// signal-exit (used by execa and proper-lockfile) keeps its emitter on
// `process.__signal_exit_emitter__`. Under jest's ESM module linking, a test
// file whose imports load both can fail with "Export '__signal_exit_emitter__'
// is not defined" unless the key exists before either loads.
const sandboxProcess = process as unknown as Record<string, unknown>;
if (!('__signal_exit_emitter__' in sandboxProcess)) sandboxProcess.__signal_exit_emitter__ = undefined;
