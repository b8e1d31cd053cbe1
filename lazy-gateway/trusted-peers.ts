// Which peer addresses may speak for someone else (identity headers here,
// node ids on the analyzer's ALS and xDS ports): one definition for every
// component, in contracts/.
export { DEFAULT_TRUSTED_PROXIES, TrustedPeers, parseTrustedProxies } from '../contracts/trusted-peers.ts';
