export { KubernetesInventorySource, type KubernetesSourceOptions, type KubernetesSourceStats } from './source.ts';
export { parseLabelSelector, NamespaceSelection, SYSTEM_NAMESPACES, type LabelSelector } from './namespaces.ts';
export { connect, type KubeConnection } from './client.ts';
