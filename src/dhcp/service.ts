// Placeholder until the DHCP service lands (issue 4): the supervisor imports this factory.
import type { ServiceFactory } from '../supervisor/service.js';

export const createDhcpService: ServiceFactory = () => {
  throw new Error('DHCP service not built yet');
};
