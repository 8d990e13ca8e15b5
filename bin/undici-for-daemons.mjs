// What the daemons' bundles get for `import … from 'undici'` (bin/build.js, bundleDaemons):
// the parts of undici they use — Agent, request, buildConnector — taken from undici's own
// modules, without the rest its index loads (fetch, WebSocket, EventSource, the caches, the
// mocks, the proxy agents…): a daemon holds about 5 MB less. `request` is made the way
// undici's index.js makes it (makeDispatcher there), and Dispatcher.prototype gets the same
// API methods. A daemon importing anything else from undici fails the build (no such export
// here): add it below. test/build/undici-for-daemons.test.ts checks it against undici.
import { URL } from 'node:url';
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import buildConnector from 'undici/lib/core/connect.js';
import errors from 'undici/lib/core/errors.js';
import util from 'undici/lib/core/util.js';
import globalDispatcher from 'undici/lib/global.js';

const { InvalidArgumentError } = errors;
const { getGlobalDispatcher } = globalDispatcher;

Object.assign(Dispatcher.prototype, api);

export { Agent, buildConnector };

export const request = makeDispatcher(api.request);

// undici 7's index.js, as it is.
function makeDispatcher(fn) {
  return (url, opts, handler) => {
    if (typeof opts === 'function') {
      handler = opts;
      opts = null;
    }

    if (!url || (typeof url !== 'string' && typeof url !== 'object' && !(url instanceof URL))) {
      throw new InvalidArgumentError('invalid url');
    }

    if (opts != null && typeof opts !== 'object') {
      throw new InvalidArgumentError('invalid opts');
    }

    if (opts && opts.path != null) {
      if (typeof opts.path !== 'string') {
        throw new InvalidArgumentError('invalid opts.path');
      }

      let path = opts.path;
      if (!opts.path.startsWith('/')) {
        path = `/${path}`;
      }

      url = new URL(util.parseOrigin(url).origin + path);
    } else {
      if (!opts) {
        opts = typeof url === 'object' ? url : {};
      }

      url = util.parseURL(url);
    }

    const { agent, dispatcher = getGlobalDispatcher() } = opts;

    if (agent) {
      throw new InvalidArgumentError('unsupported opts.agent. Did you mean opts.client?');
    }

    return fn.call(
      dispatcher,
      {
        ...opts,
        origin: url.origin,
        path: url.search ? `${url.pathname}${url.search}` : url.pathname,
        method: opts.method || (opts.body ? 'PUT' : 'GET'),
      },
      handler,
    );
  };
}
