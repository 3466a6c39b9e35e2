/**
 * iPXE scripts: `GET /boot/<mac>.ipxe` (the URL the boot policy hands out) and
 * `GET /boot.ipxe?mac=${net0/mac}` for scripts embedded in an iPXE build that
 * only know iPXE's variables. Whoever fetches these is iPXE by definition, so
 * the policy is asked with stage ipxe; `?arch=` (iPXE's `${buildarch}`) or
 * `?platform=efi` may refine the firmware but the script does not depend on it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseMac } from '../../net/mac.js';
import { decideBoot } from '../../policy/boot-policy.js';
import { identifyClient } from '../../policy/client-identity.js';
import { renderIpxeScript } from '../../policy/render.js';
import type { ServiceContext } from '../../supervisor/service.js';
import { requestClientAddress } from '../client.js';

const IPXE_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** iPXE `${buildarch}` / `${platform}` → DHCP option 93 code, so the policy sees the same firmware it saw in DHCP. */
function archCodeFromQuery(query: Record<string, string | undefined>): number | null {
  const platform = query.platform?.toLowerCase();
  const arch = query.arch?.toLowerCase() ?? query.buildarch?.toLowerCase();
  if (platform === 'pcbios') return 0;
  if (platform !== 'efi' && arch === undefined) return null;
  if (arch === 'i386') return platform === 'efi' ? 6 : 0;
  if (arch === 'arm64') return 11;
  return platform === 'efi' ? 7 : null;
}

export function registerIpxeRoutes(app: FastifyInstance, context: ServiceContext): void {
  const serve = (request: FastifyRequest, reply: FastifyReply, macText: string): FastifyReply => {
    const config = context.config();
    const clientIp = requestClientAddress(request);
    const mac = parseMac(macText);
    if (mac === null) {
      return reply.code(400).type(IPXE_CONTENT_TYPE).send(`#!ipxe\necho netboot: "${macText.replace(/[^\w:.-]/g, '?')}" is not a MAC address\nexit 1\n`);
    }
    const query = request.query as Record<string, string | undefined>;
    const client = identifyClient({ mac, userClass: 'iPXE', arch: archCodeFromQuery(query) });
    const decision = decideBoot(config, client, context.bootState);
    if (decision === null) {
      context.events.record({ kind: 'http.script', mac, ip: clientIp, host: null, outcome: 'harmless', message: 'unknown machine and no defaultProfile: no script (404)' });
      return reply.code(404).type(IPXE_CONTENT_TYPE).send(`#!ipxe\necho netboot: machine ${mac} is not in the config and unknown machines are ignored\nexit 1\n`);
    }
    const script = renderIpxeScript(config, decision, context.leases().addressForMac(mac));
    context.events.record({
      kind: 'http.script',
      mac,
      ip: clientIp,
      host: decision.host?.name ?? null,
      outcome: 'ok',
      message: decision.reason,
      details: { profile: decision.profile.name, localBoot: decision.localBoot },
    });
    return reply.code(200).type(IPXE_CONTENT_TYPE).header('cache-control', 'no-store').send(script);
  };

  app.get<{ Params: { mac: string } }>('/boot/:mac.ipxe', (request, reply) => serve(request, reply, request.params.mac));
  app.get<{ Querystring: { mac?: string } }>('/boot.ipxe', (request, reply) => {
    const mac = request.query.mac;
    if (mac === undefined || mac === '') {
      return reply.code(400).type(IPXE_CONTENT_TYPE).send('#!ipxe\necho netboot: /boot.ipxe needs ?mac=${net0/mac}\nexit 1\n');
    }
    return serve(request, reply, mac);
  });
}
