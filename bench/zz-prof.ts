import { Inventory, parseMesh } from '/work/main/contracts/inventory/index.ts';
import { startGateway } from '/work/main/lazy-gateway/index.ts';
const bport = Number(process.argv[2]);
const inv = new Inventory(parseMesh(`apiVersion: meshscope/v1\nkind: Mesh\nservices:\n- name: bench\n  ports: [{port: 8080, targetPort: ${bport}, protocol: http}]\n  workloads: [{name: bench-1, address: 127.0.0.2}]\n`));
const gw = await startGateway({ inventory: inv, port: 18080, adminPort: 0, host: '127.0.0.1', sink: { send: async () => {} }, log: () => {} });
console.log('ready');
process.on('SIGINT', async () => { await gw.close(); process.exit(0); });
