/**
 * The part of oclif that `bin/agenda.js` runs, from the CLI's bundle (bin/build.js): the
 * binary and the commands then share one copy of @oclif/core, bundled, instead of Node
 * loading its hundred-odd modules (and semver's fifty) one file at a time before every
 * command. oclif's plugins (help, version, autocomplete) bring their own copy, loaded only
 * when one of their commands runs.
 */
export { Errors, flush, handle, run, settings } from '@oclif/core';
