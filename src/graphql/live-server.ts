// The live endpoint is built from the parts in ./live/; importers keep this path.
export { LiveServer, type LiveOptions } from './live/live-server';
export { LIVE_PROTOCOL, LiveCloseCode } from './live/protocol';
