/**
 * Answer files (kickstart, preseed, autoinstall): the profile's template
 * rendered for one machine. `/ks/<host>` by name, `/ks/by-mac/<mac>` for
 * machines the config may not name (they get the default profile's file).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HostConfig } from '../../config/types.js';
import { parseMac } from '../../net/mac.js';
import { profileFor } from '../../policy/boot-policy.js';
import { renderKickstart } from '../../policy/render.js';
import type { ServiceContext } from '../../supervisor/service.js';
import { requestClientAddress } from '../client.js';

const TEXT = 'text/plain; charset=utf-8';

export function registerKickstartRoutes(app: FastifyInstance, context: ServiceContext): void {
  const serve = (request: FastifyRequest, reply: FastifyReply, mac: string, host: HostConfig | null): FastifyReply => {
    const config = context.config();
    const clientIp = requestClientAddress(request);
    const profile = profileFor(config, host);
    const who = host ? `host ${host.name}` : `machine ${mac}`;
    if (profile === null) {
      context.events.record({ kind: 'http.kickstart', mac, ip: clientIp, host: null, outcome: 'failure', message: `${who} is not in the config and there is no defaultProfile` });
      return reply.code(404).type(TEXT).send(`netboot: ${who} is not in the config and unknown machines are ignored\n`);
    }
    const text = renderKickstart(config, mac, host, profile, context.leases().addressForMac(mac));
    if (text === null) {
      context.events.record({ kind: 'http.kickstart', mac, ip: clientIp, host: host?.name ?? null, outcome: 'failure', message: `profile ${profile.name} has no kickstart template` });
      return reply.code(404).type(TEXT).send(`netboot: profile ${profile.name} (${who}) has no kickstart file; set profiles.${profile.name}.kickstart\n`);
    }
    context.events.record({ kind: 'http.kickstart', mac, ip: clientIp, host: host?.name ?? null, outcome: 'ok', message: `answer file of profile ${profile.name}`, details: { profile: profile.name, bytes: Buffer.byteLength(text) } });
    return reply.code(200).type(TEXT).header('cache-control', 'no-store').send(text);
  };

  app.get<{ Params: { host: string } }>('/ks/:host', (request, reply) => {
    const host = context.config().hostsByName.get(request.params.host) ?? null;
    if (host === null) return reply.code(404).type(TEXT).send(`netboot: no host named "${request.params.host}" in the config\n`);
    return serve(request, reply, host.mac, host);
  });
  app.get<{ Params: { mac: string } }>('/ks/by-mac/:mac', (request, reply) => {
    const mac = parseMac(request.params.mac);
    if (mac === null) return reply.code(400).type(TEXT).send(`netboot: "${request.params.mac}" is not a MAC address\n`);
    return serve(request, reply, mac, context.config().hostsByMac.get(mac) ?? null);
  });
}
